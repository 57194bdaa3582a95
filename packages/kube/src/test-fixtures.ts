// Builders of API objects for the unit tests (not exported by the package).
import type { V1Node, V1Pod, V1Volume } from './types.ts';

export const Gi = 2 ** 30;

export function apiNode(
  name: string,
  options: {
    created?: string;
    cpu?: string;
    memory?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  } = {},
): V1Node {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: new Date(options.created ?? '2026-01-01T00:00:00Z').toISOString(),
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
    },
    spec: { providerID: `kwok://${name}` },
    status: { allocatable: { cpu: options.cpu ?? '4', memory: options.memory ?? '8Gi', pods: '110' } },
  };
}

export function apiPod(
  name: string,
  options: {
    node?: string;
    cpu?: string;
    memory?: string;
    phase?: string;
    owner?: { kind: string; name: string } | null;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    volumes?: V1Volume[];
    unschedulableSince?: string;
    created?: string;
    deleting?: boolean;
  } = {},
): V1Pod {
  const owner = options.owner === undefined ? { kind: 'ReplicaSet', name: 'web-abc' } : options.owner;
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: new Date(options.created ?? '2026-01-01T00:00:00Z').toISOString(),
      labels: options.labels ?? { 'pod-template-hash': 'abc' },
      annotations: options.annotations ?? {},
      ...(owner
        ? { ownerReferences: [{ apiVersion: 'apps/v1', ...owner, uid: 'o', controller: true }] }
        : {}),
      ...(options.deleting ? { deletionTimestamp: '2026-01-02T00:00:00Z' } : {}),
    },
    spec: {
      ...(options.node ? { nodeName: options.node } : {}),
      containers: [
        {
          name: 'c',
          resources: { requests: { cpu: options.cpu ?? '0', memory: options.memory ?? '0' } },
        },
      ],
      ...(options.volumes ? { volumes: options.volumes } : {}),
    },
    status: {
      phase: options.phase ?? (options.node ? 'Running' : 'Pending'),
      ...(options.unschedulableSince
        ? {
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                lastTransitionTime: new Date(options.unschedulableSince).toISOString(),
              },
            ],
          }
        : {}),
    },
  };
}
