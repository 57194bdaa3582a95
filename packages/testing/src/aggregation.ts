// An aggregated API (metrics.k8s.io, external.metrics.k8s.io) served by a server a test runs
// on 127.0.0.1, registered on the stack's kube-apiserver for the test's run only: what the
// metrics-server and KEDA tests both set up, and undo, without touching the shared servers.
import assert from 'node:assert/strict';
import {
  ApiregistrationV1Api,
  RbacAuthorizationV1Api,
  type V1APIService,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import type { KubeAdmin } from './kube.ts';

/** The label that says which test run registered an APIService: only that run removes it. */
const RUN_LABEL = 'scalewise.io/test-run';

/** What {@link registerApiService} registers. */
export interface AggregatedApi {
  /** The API group, e.g. `metrics.k8s.io`. */
  group: string;
  version: string;
  /** The namespace (the test's own) of the ExternalName service that points at the server. */
  namespace: string;
  /** That service's name. */
  service: string;
  /** The server's port on 127.0.0.1. */
  port: number;
  /** The test run's name, the value of the APIService's run label. */
  run: string;
}

const missing = (err: unknown) => {
  if ((err as { code?: number }).code === 404) return undefined;
  throw err;
};

/**
 * Registers `<version>.<group>` with the server at 127.0.0.1:`port` behind it, through an
 * ExternalName service to localhost (the aggregator resolves it to host:port: no kube-proxy
 * here), skipping TLS verification (the server's certificate is the test's, not the
 * cluster's).
 * @throws AssertionError when someone else registered that API already: a test does not
 *   replace it.
 */
export async function registerApiService(admin: KubeAdmin, api: AggregatedApi): Promise<void> {
  const name = `${api.version}.${api.group}`;
  const reg = admin.kc.makeApiClient(ApiregistrationV1Api);
  const existing: V1APIService | undefined = await reg.readAPIService({ name }).catch(missing);
  assert.equal(
    existing,
    undefined,
    `${name} is already registered (service ${existing?.spec?.service?.namespace}/${existing?.spec?.service?.name}): this test does not replace someone else's`,
  );
  await admin.core.createNamespacedService({
    namespace: api.namespace,
    body: {
      metadata: { name: api.service },
      spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port: api.port }] },
    },
  });
  await reg.createAPIService({
    body: {
      metadata: { name, labels: { [RUN_LABEL]: api.run } },
      spec: {
        group: api.group,
        version: api.version,
        groupPriorityMinimum: 100,
        versionPriority: 100,
        insecureSkipTLSVerify: true,
        service: { namespace: api.namespace, name: api.service, port: api.port },
      },
    },
  });
}

/** Removes the APIService `name` when the run `run` registered it (someone else's stays). */
export async function unregisterApiService(admin: KubeAdmin, name: string, run: string): Promise<void> {
  const reg = admin.kc.makeApiClient(ApiregistrationV1Api);
  const existing = await reg.readAPIService({ name }).catch(() => undefined);
  if (existing?.metadata?.labels?.[RUN_LABEL] === run) {
    await reg.deleteAPIService({ name }).catch(() => undefined);
  }
}

/**
 * Lets `system:anonymous` do `rules`, through the ClusterRole and ClusterRoleBinding `name`.
 * The stack's apiserver has no --proxy-client-cert-file: the aggregator sends no client
 * certificate, so an aggregated server sees its requests as anonymous. Undone by
 * {@link revokeAnonymous}.
 */
export async function grantAnonymous(admin: KubeAdmin, name: string, rules: V1PolicyRule[]): Promise<void> {
  const rbac = admin.kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createClusterRole({ body: { metadata: { name }, rules } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'system:anonymous' }],
    },
  });
}

/** Deletes what {@link grantAnonymous} made (the binding first); either may be missing. */
export async function revokeAnonymous(admin: KubeAdmin, name: string): Promise<void> {
  const rbac = admin.kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.deleteClusterRoleBinding({ name }).catch(() => undefined);
  await rbac.deleteClusterRole({ name }).catch(() => undefined);
}

/** What {@link aggregatedServerFlags} configures. */
export interface AggregatedServer {
  /** Its HTTPS port on 127.0.0.1. */
  port: number;
  /** Where it keeps (or finds) its serving certificate. */
  certDir: string;
  /** The kubeconfig it checks its callers with (the stack's admin one). */
  kubeconfig: string;
  /** The API it serves, as registered by {@link registerApiService}. */
  group: string;
  version: string;
}

/**
 * The flags every k8s.io/apiserver-based server takes (metrics-server, KEDA's metrics
 * adapter): served on 127.0.0.1 only, callers authenticated and authorized by the stack's
 * apiserver, and the aggregator's discovery and OpenAPI requests (non-resource paths) allowed
 * here, so that nothing cluster-wide is granted for them.
 */
export function aggregatedServerFlags(server: AggregatedServer): string[] {
  const api = `/apis/${server.group}`;
  return [
    '--secure-port',
    String(server.port),
    '--bind-address',
    '127.0.0.1',
    '--cert-dir',
    server.certDir,
    '--authentication-kubeconfig',
    server.kubeconfig,
    '--authorization-kubeconfig',
    server.kubeconfig,
    '--authentication-skip-lookup',
    '--authorization-always-allow-paths',
    `/healthz,/readyz,/livez,/apis,${api},${api}/${server.version},/openapi/*`,
  ];
}
