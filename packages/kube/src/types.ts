/**
 * API objects as the API server's JSON carries them. client-node's model classes type every
 * timestamp (metadata.creationTimestamp, a condition's lastTransitionTime, a Lease's
 * renewTime, ...) as a `Date`, which its serializer made of the JSON; our client parses the
 * JSON as it is, so here those fields are what they are on the wire: RFC 3339 strings. The
 * shapes come from client-node's models by a type-only import (erased from every bundle), with
 * each `Date` turned into `string`, so that code reading a timestamp as a Date does not compile.
 */
import type * as k8s from '@kubernetes/client-node';

/**
 * `T` as JSON: every `Date` (and `V1MicroTime`) in it a string, and every field client-node
 * renamed after a reserved word under its JSON name again (`metadata._continue` of a list is
 * `metadata.continue` on the wire; `_default`, `_enum`, `_from`, `_int` likewise).
 */
export type Wire<T> = 0 extends 1 & T
  ? T
  : T extends Date
    ? string
    : T extends readonly (infer U)[]
      ? Wire<U>[]
      : T extends object
        ? { [K in keyof T as K extends `_${infer Name}` ? Name : K]: Wire<T[K]> }
        : T;

export type V1APIResourceList = Wire<k8s.V1APIResourceList>;
export type V1ConfigMap = Wire<k8s.V1ConfigMap>;
export type V1ConfigMapList = Wire<k8s.V1ConfigMapList>;
export type V1Container = Wire<k8s.V1Container>;
export type V1DeleteOptions = Wire<k8s.V1DeleteOptions>;
export type V1Eviction = Wire<k8s.V1Eviction>;
export type V1LabelSelector = Wire<k8s.V1LabelSelector>;
export type V1Lease = Wire<k8s.V1Lease>;
export type V1Namespace = Wire<k8s.V1Namespace>;
export type V1Node = Wire<k8s.V1Node>;
export type V1NodeList = Wire<k8s.V1NodeList>;
export type V1NodeSelectorTerm = Wire<k8s.V1NodeSelectorTerm>;
export type V1Pod = Wire<k8s.V1Pod>;
export type V1PodAffinityTerm = Wire<k8s.V1PodAffinityTerm>;
export type V1PodDisruptionBudget = Wire<k8s.V1PodDisruptionBudget>;
export type V1PodDisruptionBudgetList = Wire<k8s.V1PodDisruptionBudgetList>;
export type V1PodList = Wire<k8s.V1PodList>;
export type V1PodSpec = Wire<k8s.V1PodSpec>;
export type V1ServiceAccountList = Wire<k8s.V1ServiceAccountList>;
export type V1Status = Wire<k8s.V1Status>;
export type V1Taint = Wire<k8s.V1Taint>;
export type V1Toleration = Wire<k8s.V1Toleration>;
export type V1Volume = Wire<k8s.V1Volume>;
