// The pending-pod reaction against a fake clock: the debounce is stepped, never slept through.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { CacheEvent, PodInfo } from '@scalewise/kube';
import type { Placed } from '../adapters/cluster-view.ts';
import { createSensedEvents } from '../adapters/sensed-events.ts';
import { createPendingPods, type PendingPodsDeps } from './pending-pods.ts';

const DEBOUNCE = 100;
const empty = (): Placed => ({ byPool: new Map(), unplaceable: null, elsewhere: 0, podsPools: new Map() });

function harness(overrides: Partial<PendingPodsDeps> = {}) {
  let watch: ((e: CacheEvent<PodInfo>) => void) | undefined;
  const reports: string[] = [];
  const deps: PendingPodsDeps = {
    view: {
      pods: { on: (cb: (e: CacheEvent<PodInfo>) => void) => (watch = cb) } as never,
      simulatePending: (at) => {
        reports.push(`simulated at ${at}`);
        return empty();
      },
    },
    pools: new Set(['workers']),
    events: createSensedEvents({ source: '/test', clusterId: 'c1' }),
    publish: async () => undefined,
    leading: () => true,
    enqueue: (fn) => void fn(),
    react: true,
    debounceMs: DEBOUNCE,
    now: () => Date.now(),
    log: { debug: () => undefined },
    ...overrides,
  };
  const pending = createPendingPods(deps);
  const pod = (name: string, waits: boolean, type: CacheEvent<PodInfo>['type'] = 'update') =>
    watch?.({
      type,
      object: { namespace: 'default', name, ...(waits ? { unschedulableSince: 1 } : {}) } as PodInfo,
    } as CacheEvent<PodInfo>);
  return { pending, pod, reports };
}

describe('the pending-pod reaction', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000 }));
  afterEach(() => mock.timers.reset());

  test('pods turning unschedulable within the debounce make one report, after it', () => {
    const { pending, pod, reports } = harness();
    pending.start();
    pod('a', true);
    mock.timers.tick(DEBOUNCE / 2);
    pod('b', true);
    assert.deepEqual(reports, [], 'nothing before the debounce ran out');
    mock.timers.tick(DEBOUNCE / 2);
    assert.deepEqual(reports, ['simulated at 1100']);
    pod('a', true);
    mock.timers.tick(DEBOUNCE);
    assert.deepEqual(reports, ['simulated at 1100'], 'a pod already reported waiting asks for nothing');
  });

  test('a pod that stopped waiting and waits again is news again', () => {
    const { pending, pod, reports } = harness();
    pending.start();
    pod('a', true);
    mock.timers.tick(DEBOUNCE);
    pod('a', false);
    pod('a', true);
    mock.timers.tick(DEBOUNCE);
    assert.equal(reports.length, 2);
  });

  test('nothing is reported before start, after stop, or with react_to_pending_pods false', () => {
    const off = harness({ react: false });
    off.pending.start();
    off.pod('a', true);
    mock.timers.tick(DEBOUNCE * 10);
    assert.deepEqual(off.reports, []);

    const { pending, pod, reports } = harness();
    pod('early', true);
    mock.timers.tick(DEBOUNCE * 10);
    pending.start();
    pod('b', true);
    pending.stop();
    mock.timers.tick(DEBOUNCE * 10);
    assert.deepEqual(reports, []);
  });

  test('a replica that does not lead reports nothing', async () => {
    const { pending } = harness({ leading: () => false });
    assert.deepEqual(await pending.report(), []);
  });
});
