/**
 * The API calls Scalewise makes, typed, each one request of {@link Transport.request}. Names and
 * parameter objects are client-node's (`kube.core.listNode({ labelSelector })`), so code and
 * tests read the same as before; objects are the server's JSON (types.ts). Every call takes an
 * optional second argument with a `timeoutMs` and a `signal`.
 */
import type { KubeRequest, Transport } from './raw-api.ts';
import type {
  V1APIResourceList,
  V1ConfigMap,
  V1ConfigMapList,
  V1DeleteOptions,
  V1Eviction,
  V1Lease,
  V1Namespace,
  V1Node,
  V1NodeList,
  V1Pod,
  V1PodDisruptionBudgetList,
  V1PodList,
  V1ServiceAccountList,
  V1Status,
} from './types.ts';

export interface CallOptions {
  /** The whole call. @default none (a request silent for 30 s fails) */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  /** The previous page's `metadata.continue`. */
  _continue?: string;
  resourceVersion?: string;
}

type Named = { name: string };
type InNamespace = { namespace: string };
type DeleteParams = { gracePeriodSeconds?: number; body?: V1DeleteOptions };
/** A JSON patch (RFC 6902), sent as application/json-patch+json. */
export type JsonPatch = {
  op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  path: string;
  value?: unknown;
  from?: string;
}[];

/** core/v1: nodes, pods, evictions, config maps, namespaces, service accounts, discovery. */
export interface CoreApi {
  listNode(p?: ListParams, o?: CallOptions): Promise<V1NodeList>;
  readNode(p: Named, o?: CallOptions): Promise<V1Node>;
  createNode(p: { body: V1Node }, o?: CallOptions): Promise<V1Node>;
  /** A JSON patch (client-node sent this one as application/json-patch+json too). */
  patchNode(p: Named & { body: JsonPatch }, o?: CallOptions): Promise<V1Node>;
  deleteNode(p: Named & DeleteParams, o?: CallOptions): Promise<V1Status>;
  deleteCollectionNode(p: ListParams, o?: CallOptions): Promise<V1Status>;
  listPodForAllNamespaces(p?: ListParams, o?: CallOptions): Promise<V1PodList>;
  listNamespacedPod(p: InNamespace & ListParams, o?: CallOptions): Promise<V1PodList>;
  readNamespacedPod(p: Named & InNamespace, o?: CallOptions): Promise<V1Pod>;
  createNamespacedPod(p: InNamespace & { body: V1Pod }, o?: CallOptions): Promise<V1Pod>;
  deleteNamespacedPod(p: Named & InNamespace & DeleteParams, o?: CallOptions): Promise<V1Pod>;
  createNamespacedPodEviction(
    p: Named & InNamespace & { body: V1Eviction },
    o?: CallOptions,
  ): Promise<V1Status>;
  listNamespacedConfigMap(p: InNamespace & ListParams, o?: CallOptions): Promise<V1ConfigMapList>;
  readNamespacedConfigMap(p: Named & InNamespace, o?: CallOptions): Promise<V1ConfigMap>;
  createNamespacedConfigMap(p: InNamespace & { body: V1ConfigMap }, o?: CallOptions): Promise<V1ConfigMap>;
  deleteNamespacedConfigMap(p: Named & InNamespace & DeleteParams, o?: CallOptions): Promise<V1Status>;
  createNamespace(p: { body: V1Namespace }, o?: CallOptions): Promise<V1Namespace>;
  readNamespace(p: Named, o?: CallOptions): Promise<V1Namespace>;
  deleteNamespace(p: Named & DeleteParams, o?: CallOptions): Promise<V1Status>;
  listNamespacedServiceAccount(p: InNamespace & ListParams, o?: CallOptions): Promise<V1ServiceAccountList>;
  /** GET /api/v1: what core/v1 serves (a cheap probe of the API server). */
  getAPIResources(o?: CallOptions): Promise<V1APIResourceList>;
}

/** policy/v1 PodDisruptionBudgets. */
export interface PolicyApi {
  listPodDisruptionBudgetForAllNamespaces(
    p?: ListParams,
    o?: CallOptions,
  ): Promise<V1PodDisruptionBudgetList>;
  listNamespacedPodDisruptionBudget(
    p: InNamespace & ListParams,
    o?: CallOptions,
  ): Promise<V1PodDisruptionBudgetList>;
}

/** coordination.k8s.io/v1 Leases. */
export interface CoordinationApi {
  readNamespacedLease(p: Named & InNamespace, o?: CallOptions): Promise<V1Lease>;
  createNamespacedLease(p: InNamespace & { body: V1Lease }, o?: CallOptions): Promise<V1Lease>;
  /** A PUT: the body's metadata.resourceVersion, when set, is the precondition (409 when it moved). */
  replaceNamespacedLease(p: Named & InNamespace & { body: V1Lease }, o?: CallOptions): Promise<V1Lease>;
}

/** Any group's discovery and cluster-scoped list (metrics.k8s.io). */
export interface CustomObjectsApi {
  /** GET /apis/{group}/{version}. */
  getAPIResources(p: { group: string; version: string }, o?: CallOptions): Promise<V1APIResourceList>;
  /** GET /apis/{group}/{version}/{plural}: the list as the server sends it. */
  listClusterCustomObject(
    p: { group: string; version: string; plural: string } & ListParams,
    o?: CallOptions,
  ): Promise<unknown>;
}

const seg = encodeURIComponent;

const listQuery = (p: ListParams = {}) => ({
  labelSelector: p.labelSelector,
  fieldSelector: p.fieldSelector,
  limit: p.limit,
  continue: p._continue,
  resourceVersion: p.resourceVersion,
});

type Request = Transport['request'];

/** The calls over `request`. */
export function apis(request: Request): {
  core: CoreApi;
  policy: PolicyApi;
  coordination: CoordinationApi;
  custom: CustomObjectsApi;
} {
  const call = <T>(
    method: KubeRequest['method'],
    path: string,
    o: CallOptions | undefined,
    extra: Partial<KubeRequest> = {},
  ): Promise<T> => request<T>({ method, path, ...extra, ...o });
  const get = <T>(path: string, p: ListParams | undefined, o: CallOptions | undefined) =>
    call<T>('GET', path, o, { query: listQuery(p) });
  const del = <T>(path: string, p: DeleteParams, o: CallOptions | undefined) =>
    call<T>('DELETE', path, o, {
      query: { gracePeriodSeconds: p.gracePeriodSeconds },
      ...(p.body ? { body: p.body } : {}),
    });
  const ns = (p: InNamespace) => `/api/v1/namespaces/${seg(p.namespace)}`;

  const core: CoreApi = {
    listNode: (p, o) => get('/api/v1/nodes', p, o),
    readNode: (p, o) => call('GET', `/api/v1/nodes/${seg(p.name)}`, o),
    createNode: (p, o) => call('POST', '/api/v1/nodes', o, { body: p.body }),
    patchNode: (p, o) =>
      call('PATCH', `/api/v1/nodes/${seg(p.name)}`, o, {
        body: p.body,
        contentType: 'application/json-patch+json',
      }),
    deleteNode: (p, o) => del(`/api/v1/nodes/${seg(p.name)}`, p, o),
    deleteCollectionNode: (p, o) => call('DELETE', '/api/v1/nodes', o, { query: listQuery(p) }),
    listPodForAllNamespaces: (p, o) => get('/api/v1/pods', p, o),
    listNamespacedPod: (p, o) => get(`${ns(p)}/pods`, p, o),
    readNamespacedPod: (p, o) => call('GET', `${ns(p)}/pods/${seg(p.name)}`, o),
    createNamespacedPod: (p, o) => call('POST', `${ns(p)}/pods`, o, { body: p.body }),
    deleteNamespacedPod: (p, o) => del(`${ns(p)}/pods/${seg(p.name)}`, p, o),
    createNamespacedPodEviction: (p, o) =>
      call('POST', `${ns(p)}/pods/${seg(p.name)}/eviction`, o, { body: p.body }),
    listNamespacedConfigMap: (p, o) => get(`${ns(p)}/configmaps`, p, o),
    readNamespacedConfigMap: (p, o) => call('GET', `${ns(p)}/configmaps/${seg(p.name)}`, o),
    createNamespacedConfigMap: (p, o) => call('POST', `${ns(p)}/configmaps`, o, { body: p.body }),
    deleteNamespacedConfigMap: (p, o) => del(`${ns(p)}/configmaps/${seg(p.name)}`, p, o),
    createNamespace: (p, o) => call('POST', '/api/v1/namespaces', o, { body: p.body }),
    readNamespace: (p, o) => call('GET', `/api/v1/namespaces/${seg(p.name)}`, o),
    deleteNamespace: (p, o) => del(`/api/v1/namespaces/${seg(p.name)}`, p, o),
    listNamespacedServiceAccount: (p, o) => get(`${ns(p)}/serviceaccounts`, p, o),
    getAPIResources: (o) => call('GET', '/api/v1', o),
  };

  const pdbs = '/apis/policy/v1';
  const policy: PolicyApi = {
    listPodDisruptionBudgetForAllNamespaces: (p, o) => get(`${pdbs}/poddisruptionbudgets`, p, o),
    listNamespacedPodDisruptionBudget: (p, o) =>
      get(`${pdbs}/namespaces/${seg(p.namespace)}/poddisruptionbudgets`, p, o),
  };

  const leases = (p: InNamespace) => `/apis/coordination.k8s.io/v1/namespaces/${seg(p.namespace)}/leases`;
  const coordination: CoordinationApi = {
    readNamespacedLease: (p, o) => call('GET', `${leases(p)}/${seg(p.name)}`, o),
    createNamespacedLease: (p, o) => call('POST', leases(p), o, { body: p.body }),
    replaceNamespacedLease: (p, o) => call('PUT', `${leases(p)}/${seg(p.name)}`, o, { body: p.body }),
  };

  const group = (p: { group: string; version: string }) => `/apis/${seg(p.group)}/${seg(p.version)}`;
  const custom: CustomObjectsApi = {
    getAPIResources: (p, o) => call('GET', group(p), o),
    listClusterCustomObject: (p, o) => get(`${group(p)}/${seg(p.plural)}`, p, o),
  };

  return { core, policy, coordination, custom };
}
