import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  changeInPeriod,
  type ScaleEvent,
  scaleDownLimit,
  scaleDownRetryAfter,
  scaleUpLimit,
  scaleUpRetryAfter,
  stabilizationRetryAfter,
  stabilize,
} from './hpa.ts';
import { defaultScaleDown, defaultScaleUp, type ScalingRules } from './policy.ts';

const now = 1_000_000;
const ago = (s: number) => now - s * 1000;
const up = (s: number, change: number): ScaleEvent => ({ at: ago(s), direction: 'up', change });
const down = (s: number, change: number): ScaleEvent => ({ at: ago(s), direction: 'down', change });
const rules = (
  selectPolicy: ScalingRules['selectPolicy'],
  policies: ScalingRules['policies'],
): ScalingRules => ({
  stabilizationWindowSeconds: 0,
  selectPolicy,
  policies,
});

describe('changeInPeriod', () => {
  test('counts only changes strictly inside the period, per direction', () => {
    const events = [up(5, 2), up(15, 3), up(16, 4), down(1, 1)];
    assert.equal(changeInPeriod(events, 'up', 15, now), 2, 'the event exactly 15 s old is outside');
    assert.equal(changeInPeriod(events, 'up', 16, now), 5);
    assert.equal(changeInPeriod(events, 'down', 15, now), 1);
  });
});

describe('scaleUpLimit (HPA calculateScaleUpLimitWithScalingRules)', () => {
  test('defaults: the larger of +4 pods and +100 % per 15 s', () => {
    assert.equal(scaleUpLimit(defaultScaleUp, 3, [], now), 7, '3+4 beats 3*2');
    assert.equal(scaleUpLimit(defaultScaleUp, 10, [], now), 20, '10*2 beats 10+4');
  });

  test('changes within the period count against it, older ones do not', () => {
    // 2 added 5 s ago: the period started at 1 -> max(1+4, ceil(1*2)) = 5
    assert.equal(scaleUpLimit(defaultScaleUp, 3, [up(5, 2)], now), 5);
    assert.equal(scaleUpLimit(defaultScaleUp, 3, [up(20, 2)], now), 7);
  });

  test('removals within the period raise the start of the period', () => {
    assert.equal(
      scaleUpLimit(rules('Max', [{ type: 'Pods', value: 1, periodSeconds: 60 }]), 3, [down(10, 2)], now),
      6,
    );
  });

  test('selectPolicy Min takes the strictest policy', () => {
    assert.equal(scaleUpLimit({ ...defaultScaleUp, selectPolicy: 'Min' }, 3, [], now), 6);
    assert.equal(scaleUpLimit({ ...defaultScaleUp, selectPolicy: 'Min' }, 10, [], now), 14);
  });

  test('selectPolicy Disabled allows no growth', () => {
    assert.equal(scaleUpLimit({ ...defaultScaleUp, selectPolicy: 'Disabled' }, 3, [], now), 3);
  });

  test('Percent rounds up, so a small pool can always grow', () => {
    assert.equal(
      scaleUpLimit(rules('Max', [{ type: 'Percent', value: 10, periodSeconds: 60 }]), 1, [], now),
      2,
    );
    assert.equal(
      scaleUpLimit(rules('Max', [{ type: 'Percent', value: 10, periodSeconds: 60 }]), 10, [], now),
      11,
    );
  });

  test('the limit is never below the current size', () => {
    assert.equal(
      scaleUpLimit(rules('Max', [{ type: 'Pods', value: 1, periodSeconds: 60 }]), 3, [up(1, 5)], now),
      3,
    );
  });
});

describe('scaleDownLimit (HPA calculateScaleDownLimitWithBehaviors)', () => {
  test('default: 100 % per 15 s, i.e. down to 0 (min clamps later)', () => {
    assert.equal(scaleDownLimit(defaultScaleDown, 5, [], now), 0);
  });

  test('Pods 1 per 60 s: one removal, then none until it leaves the period', () => {
    const r = rules('Max', [{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    assert.equal(scaleDownLimit(r, 5, [], now), 4);
    assert.equal(scaleDownLimit(r, 5, [down(30, 1)], now), 5);
    assert.equal(scaleDownLimit(r, 5, [down(60, 1)], now), 4);
  });

  test('Max takes the policy allowing the most removal, Min the least', () => {
    const policies = [
      { type: 'Pods' as const, value: 2, periodSeconds: 60 },
      { type: 'Percent' as const, value: 50, periodSeconds: 60 },
    ];
    assert.equal(scaleDownLimit(rules('Max', policies), 10, [], now), 5);
    assert.equal(scaleDownLimit(rules('Min', policies), 10, [], now), 8);
    assert.equal(scaleDownLimit(rules('Disabled', policies), 10, [], now), 10);
  });

  test('Percent rounds down (truncates) as the HPA does', () => {
    assert.equal(
      scaleDownLimit(rules('Max', [{ type: 'Percent', value: 10, periodSeconds: 60 }]), 5, [], now),
      4,
    );
    assert.equal(
      scaleDownLimit(rules('Max', [{ type: 'Percent', value: 10, periodSeconds: 60 }]), 10, [], now),
      9,
    );
  });

  test('additions within the period lower the start of the period', () => {
    const r = rules('Max', [{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    assert.equal(scaleDownLimit(r, 5, [up(10, 2)], now), 2, 'the period started at 3, so 3 - 1');
  });
});

describe('stabilize (HPA stabilizeRecommendationWithBehaviors)', () => {
  test('scale-down goes only to the highest recommendation in the window', () => {
    const history = [
      { at: ago(200), replicas: 5 },
      { at: ago(100), replicas: 4 },
      { at: ago(0), replicas: 2 },
    ];
    assert.equal(stabilize(history, 5, 2, 0, 300, now).replicas, 5);
    assert.equal(stabilize(history, 5, 2, 0, 150, now).replicas, 4);
    assert.equal(stabilize(history, 5, 2, 0, 50, now).replicas, 2);
  });

  test('scale-up goes only to the lowest recommendation in the window', () => {
    const history = [
      { at: ago(30), replicas: 3 },
      { at: ago(0), replicas: 6 },
    ];
    assert.equal(stabilize(history, 3, 6, 60, 300, now).replicas, 3);
    assert.equal(stabilize(history, 3, 6, 0, 300, now).replicas, 6, 'window 0: only the candidate');
  });

  test('retry-after: when the last recommendation holding the size leaves the window', () => {
    const history = [
      { at: ago(200), replicas: 5 },
      { at: ago(100), replicas: 5 },
      { at: ago(50), replicas: 3 },
    ];
    assert.equal(stabilizationRetryAfter(history, 5, 300, now), 200);
    assert.equal(stabilizationRetryAfter(history, 6, 300, now), 0);
  });
});

describe('retry-after of the rate policies', () => {
  test('scale-down: the instant the blocking removal leaves the period', () => {
    const r = rules('Max', [{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    assert.equal(scaleDownRetryAfter(r, 5, [down(45, 1)], now), 15);
    assert.equal(scaleDownRetryAfter(r, 5, [], now), 0);
  });

  test('scale-up: the instant the blocking addition leaves the period', () => {
    const r = rules('Max', [{ type: 'Pods', value: 2, periodSeconds: 30 }]);
    assert.equal(scaleUpRetryAfter(r, 5, [up(10, 2)], now), 20);
  });
});
