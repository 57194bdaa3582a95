/**
 * The pending-pod reaction (`react_to_pending_pods`): a pod the watch shows turning
 * unschedulable is reported between rounds, after `pending_pods_debounce_ms` with every pod
 * turned unschedulable by then: PendingPodsDetected, from the simulation over the caches as
 * they are then, for every pool with waiting pods; NotTriggerScaleUp for those no pool can
 * host. Pods that fit a node there or in flight are counted as such (`fit_existing`), so a
 * report right after a scale-up buys nothing for them: no grace period. Reports run in the
 * rounds' chain, so their events never interleave with a round's.
 */
import type { AnyScalewiseEvent } from '@scalewise/events';
import { podKey } from '@scalewise/kube';
import type { ClusterView } from '../adapters/cluster-view.ts';
import type { SensedEvents } from '../adapters/sensed-events.ts';
import { pendingPodsEvent } from '../core/index.ts';

export interface PendingPodsDeps {
  view: Pick<ClusterView, 'pods' | 'simulatePending'>;
  /** The configured pools: a pool the simulation names but the config lacks is not reported. */
  pools: ReadonlySet<string>;
  events: SensedEvents;
  publish: (...events: AnyScalewiseEvent[]) => Promise<unknown>;
  /** Whether this replica reports (the leader). */
  leading: () => boolean;
  /** Runs `fn` after what the chain holds (the rounds), never beside it. */
  enqueue: (fn: () => Promise<unknown>, failure: string) => void;
  react: boolean;
  debounceMs: number;
  now: () => number;
  log: { debug(o: object, m?: string): void };
}

export interface PendingPods {
  /** Reports pods turning unschedulable from now on (those already waiting: the first round). */
  start(): void;
  stop(): void;
  /** One report now; returns what was published (nothing unless leader). */
  report(): Promise<AnyScalewiseEvent[]>;
}

export function createPendingPods(deps: PendingPodsDeps): PendingPods {
  const { view, pools, events, now, log } = deps;
  // Pods the watch has shown unschedulable (keys).
  const unschedulable = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let watching = false;

  async function report(): Promise<AnyScalewiseEvent[]> {
    if (!deps.leading()) return [];
    const at = now();
    const plan = view.simulatePending(at);
    const out: AnyScalewiseEvent[] = [];
    for (const [pool, e] of plan.byPool) {
      if (!pools.has(pool)) continue;
      const ev = pendingPodsEvent(pool, e.pending, at, e.simulation);
      if (ev) out.push(events.ofPool(pool, ev, at));
    }
    for (const [pool, list] of plan.podsPools) {
      const ev = pendingPodsEvent(pool, list, at);
      if (ev) out.push(events.ofPool(pool, ev, at));
    }
    const unplaceable = events.unplaceable(plan, at);
    if (unplaceable) out.push(unplaceable);
    log.debug({ events: out.length, elsewhere: plan.elsewhere }, 'pending pods reported from the watch');
    if (out.length > 0) await deps.publish(...out);
    return out;
  }

  /** Reports the pending pods after the debounce, with every pod turned unschedulable by then. */
  function kick(): void {
    if (!watching) return;
    timer ??= setTimeout(() => {
      timer = undefined;
      deps.enqueue(report, 'reporting pending pods failed; the next round reports them');
    }, deps.debounceMs);
  }

  view.pods.on((e) => {
    const key = podKey(e.object);
    const waits =
      e.type !== 'delete' && e.object.unschedulableSince !== undefined && e.object.deletedAt === undefined;
    if (!waits) {
      unschedulable.delete(key);
      return;
    }
    if (unschedulable.has(key)) return;
    unschedulable.add(key);
    if (!watching || !deps.react) return;
    kick();
  });

  return {
    start() {
      watching = true;
    },
    stop() {
      watching = false;
      if (timer) clearTimeout(timer);
    },
    report,
  };
}
