/**
 * Integration-test helpers: metrics-listener started on a config of the test's own, its
 * output topics recorded, and the data of what it published. Used by tests only.
 */
import { loadConfig } from '@scalewise/config';
import type { AnyScalewiseEvent, EventData, EventType } from '@scalewise/events';
import type { Kube } from '@scalewise/kube';
import { createService } from '@scalewise/service';
import { type IntegrationFixture, quiet, type Stoppable } from '@scalewise/testing';
import { defineMetricsListener } from '../service.ts';

/** What these helpers read of a recorder. */
export interface Recorded extends Stoppable {
  of(...types: string[]): AnyScalewiseEvent[];
}

/**
 * Starts metrics-listener on the config `text` with the fixture's Kubernetes client, logging
 * nowhere; then records `topics` (names after the config's topic prefix `prefix`), which the
 * listener made. Both are stopped when the file's tests ended.
 */
export async function startListener<R extends Recorded>(
  fx: IntegrationFixture<Kube, R>,
  text: string,
  prefix: string,
  topics: readonly string[],
) {
  const service = await fx.start(
    createService(
      defineMetricsListener({
        config: loadConfig({ text, env: {} }),
        kube: fx.kube,
        telemetry: { logDestination: quiet },
      }),
    ),
  );
  const rec = await fx.record(topics.map((topic) => `${prefix}${topic}`));
  return { service, rec };
}

/** The data of the recorded events of `type`, in arrival order; only those of `pool` when given. */
export function recordedData<T extends EventType>(rec: Recorded, type: T, pool?: string): EventData<T>[] {
  return rec
    .of(type)
    .map((e) => e.data as EventData<T>)
    .filter((d) => pool === undefined || (d as { pool?: string }).pool === pool);
}
