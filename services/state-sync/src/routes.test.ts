// state-sync's HTTP surface is the kit's alone: the probes and /metrics, every other route needing a
// token (packages/service/src/auth.int.test.ts sweeps a kit service's table). A route of its
// own must come with a sweep of the real route table, as decision-engine's and min-enforcer's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defineStateSync } from './service.ts';

test('state-sync adds no REST route to the kit', () => {
  assert.equal(defineStateSync().routes, undefined);
});
