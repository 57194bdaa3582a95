/**
 * Node lifecycle, state and action events, and `trigger.update`: each through the floor core
 * with its pool's record (adapters/floor-records.ts); what it returns is published before the
 * input is committed. The core reads them all the same way, so one handler serves them.
 */
import type { Outputs } from '@scalewise/bus';
import { isForCluster, poolNamed, type ScalewiseEvent, triggerData } from '@scalewise/events';
import type { FloorRecords } from '../adapters/floor-records.ts';
import { type EnforcerInput, enforcerEventTypes, type FloorPolicy } from '../core/index.ts';

/** The types min-enforcer consumes. */
export const handledTypes = enforcerEventTypes;
export type HandledType = (typeof handledTypes)[number];

export interface FloorInputDeps {
  records: FloorRecords;
  policies: ReadonlyMap<string, FloorPolicy>;
  clusterId: string;
}

export function createFloorInputHandler(deps: FloorInputDeps) {
  const { records, policies, clusterId } = deps;
  return async function handle(
    event: { [T in HandledType]: ScalewiseEvent<T> }[HandledType],
  ): Promise<Outputs> {
    // A trigger.update comes from outside as sent (docs/triggers.md): one for another cluster,
    // or whose data breaks the schema, changes nothing here (the decision engine answers it
    // with TriggerRejected).
    let input: EnforcerInput;
    if (event.type === 'io.scalewise.trigger.update') {
      if (!isForCluster(event, clusterId)) return [];
      const data = triggerData(event.type, event.data);
      if (data === undefined) return [];
      // The core reads the data as checked: the catalogue's shape, not the wire's.
      input = { id: event.id, type: event.type, source: event.source, data };
    } else {
      input = event;
    }
    const name = poolNamed(event.data);
    const policy = name === undefined ? undefined : policies.get(name);
    if (!policy) return [];
    const applied = await records.apply(policy, input, event);
    return applied.outputs;
  };
}
