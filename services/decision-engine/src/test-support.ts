/**
 * What the decision-engine's integration tests share: a configuration of their own (cluster
 * id, topics, groups, DLQ bucket and Redis keys no other test shares, on the stack's servers),
 * and state-sync's listing of a pool, simulated.
 */
import { randomUUID } from 'node:crypto';
import { type LoadedConfig, loadConfig } from '@scalewise/config';
import { type AnyScalewiseEvent, createEvent } from '@scalewise/events';
import { createPoolStore, listed, workersOf } from '@scalewise/pool';
import type { Service } from '@scalewise/service';
import { type StackEndpoints, serviceYaml, uniqueName } from '@scalewise/testing';

/**
 * @param pools the YAML of `autoscaler.pools`
 * @param auth the HTTP API's tokens: the write token (`api`) and more `http` keys, with the
 *   environment their `token_env` names. @default none (read routes open)
 */
export function engineTestConfig(
  stack: StackEndpoints,
  pools: string,
  label = 'de',
  auth: { apiToken?: string; http?: string; env?: Record<string, string> } = {},
): { loaded: LoadedConfig; prefix: string } {
  const prefix = `${uniqueName(label)}.`;
  const loaded = loadConfig({
    text: serviceYaml(stack, {
      clusterId: uniqueName('c'),
      prefix,
      autoscaler: `  pools: ${pools}`,
      servers: { apiToken: auth.apiToken, http: auth.http },
    }),
    env: auth.env ?? {},
  });
  return { loaded, prefix };
}

/**
 * state-sync lists the pool's nodes (all Ready) into the ledger, then publishes the
 * ClusterStateSynced that states the count; returns it.
 */
export async function listing(
  svc: Service,
  pool: string,
  names: readonly string[],
): Promise<AnyScalewiseEvent> {
  const store = createPoolStore<null, AnyScalewiseEvent>({
    redis: svc.bus.redis,
    clusterId: svc.config.cluster_id,
    service: 'state-sync',
  });
  const applied = await store.apply(pool, randomUUID(), (ledger) => {
    const now = Date.now();
    const l = listed(
      ledger,
      names.map((name) => ({ name, ready: true })),
      now,
    ).ledger;
    const n = workersOf(l) ?? 0;
    const synced = createEvent(
      'io.scalewise.ClusterStateSynced',
      {
        pool,
        workers: n,
        k8s_nodes: n,
        docker_containers: n,
        db_workers: n,
        last_sync: new Date(now).toISOString(),
      },
      { source: '/scalewise/test/state-sync', clusterid: svc.config.cluster_id },
    );
    return { ledger: l, outputs: [synced] };
  });
  await svc.bus.publisher.publish(...applied.outputs);
  const synced = applied.outputs[0];
  if (!synced) throw new Error(`no ClusterStateSynced for ${pool}`);
  return synced;
}
