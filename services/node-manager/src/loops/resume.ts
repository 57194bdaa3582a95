/**
 * What a previous process left running, resumed at start: each indexed action's events said
 * again (it may have been killed between the write and the publish; every node's chain in
 * order, under the same ids, so consumers drop the copies), then the commands it still needs
 * re-issued (creation is idempotent by the worker names the core derives from the decision
 * id). An action with no work left leaves the index.
 */
import { randomUUID } from 'node:crypto';
import { type ActionStore, everythingSaid } from '../adapters/action-records.ts';
import type { Tracker } from '../adapters/running.ts';
import { type Command, outstanding } from '../core/index.ts';
import type { Observations } from '../handlers/observations.ts';

export async function resumeActions(deps: {
  store: ActionStore;
  tracker: Tracker;
  say: Observations['say'];
  run: (c: Command) => void;
  log: { info(obj: object, msg: string): void };
}): Promise<void> {
  const { store, tracker } = deps;
  for (const id of await tracker.index.list()) {
    const rec = (await store.get(id))?.state;
    if (rec) {
      const said = everythingSaid(rec);
      if (said.length > 0) await deps.say(`resume/${id}/${randomUUID()}`, said);
    }
    const again = rec ? outstanding(rec.action) : [];
    if (!rec || (rec.action.phase !== 'running' && again.length === 0)) {
      await tracker.index.remove(id);
      continue;
    }
    await tracker.track(rec.action);
    deps.log.info({ action_id: id, commands: again.map((c) => c.kind) }, 'resuming an action');
    for (const c of again) deps.run(c);
  }
}
