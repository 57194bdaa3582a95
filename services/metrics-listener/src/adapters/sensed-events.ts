/**
 * Sensed events as published: one id per pool, type (and node) and sample time, so a retried
 * publish is the same event (packages/events eventIdOf).
 */
import { type AnyScalewiseEvent, createEvent, eventIdOf, UNPLACEABLE_KEY } from '@scalewise/events';
import type { PendingPlan, SenseIntent } from '../core/index.ts';

export function createSensedEvents(options: { source: string; clusterId: string }) {
  const { source, clusterId } = options;
  return {
    /** A pool's sensed event of the round at `at`. */
    ofPool(pool: string, e: SenseIntent, at: number): AnyScalewiseEvent {
      return createEvent(e.type, e.data, {
        source,
        clusterid: clusterId,
        id: eventIdOf(e.type, { pool, node: 'node_name' in e.data ? e.data.node_name : undefined, at }),
      }) as AnyScalewiseEvent;
    },
    /** NotTriggerScaleUp for the pods no pool can host, keyed apart from every pool. */
    unplaceable(plan: PendingPlan, at: number): AnyScalewiseEvent | null {
      if (!plan.unplaceable) return null;
      return createEvent('io.scalewise.NotTriggerScaleUp', plan.unplaceable, {
        source,
        clusterid: clusterId,
        partitionkey: UNPLACEABLE_KEY,
        id: eventIdOf('io.scalewise.NotTriggerScaleUp', { pool: UNPLACEABLE_KEY, at }),
      }) as AnyScalewiseEvent;
    },
  };
}

export type SensedEvents = ReturnType<typeof createSensedEvents>;
