import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultShape, demoPlan, podsFor } from './plan.ts';

test('the burst leaves pods pending on the minimum and fits within the maximum', () => {
  const [quiet, burst, calm, lose] = demoPlan();
  assert.ok(quiet?.kind === 'replicas' && burst?.kind === 'replicas' && calm?.kind === 'replicas');
  const onMin = podsFor(defaultShape, defaultShape.min, 1);
  const onMax = podsFor(defaultShape, defaultShape.max, 1);
  assert.ok(burst.replicas > onMin, 'some pods must be pending at the minimum');
  assert.ok(burst.replicas <= onMax, 'all pods must fit at the maximum');
  assert.ok(quiet.replicas <= onMin * 0.3, 'the quiet load is underutilisation (< 30% CPU)');
  assert.equal(calm.replicas, quiet.replicas);
  assert.equal(lose?.kind, 'lose-node');
});

test('the scale-down phase waits longer than the scale-down takes', () => {
  const calm = demoPlan({ ...defaultShape, scaleDownSeconds: 300 })[2];
  assert.ok(calm && calm.holdSeconds > 300);
});

test('a shape that cannot scale is refused', () => {
  assert.throws(() => demoPlan({ ...defaultShape, min: 3, max: 3 }), /1 <= min < max/);
  assert.throws(() => demoPlan({ ...defaultShape, podCpuMillicores: 8000 }), /pod CPU <= node CPU/);
});

test('podsFor counts whole pods per node', () => {
  assert.equal(podsFor({ ...defaultShape, podCpuMillicores: 1500 }, 2, 1), 4);
  assert.equal(podsFor(defaultShape, 0, 1), 0);
});
