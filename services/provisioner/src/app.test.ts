import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createProblem } from './app.ts';

const good = {
  idempotency_key: 'act-1',
  workers: [{ name: 'vms-1' }],
  template: {
    labels: {},
    taints: [{ key: 'k', effect: 'NoSchedule' }],
    resources: { cpu_millicores: 2000, memory_mib: 4096, pods: 110, extended_resources: {} },
    parameters: {},
  },
};

describe('create requests', () => {
  test('given a contract request, then no problem', () => {
    assert.equal(createProblem(good), undefined);
  });
  test('given mistakes, then each is named by its field', () => {
    assert.match(createProblem({ ...good, idempotency_key: '' }) ?? '', /^idempotency_key/);
    assert.match(createProblem({ ...good, workers: [] }) ?? '', /^workers/);
    assert.match(createProblem({ ...good, workers: [{ name: 'Not_A_Label' }] }) ?? '', /^workers\[0\]\.name/);
    assert.match(createProblem({ ...good, workers: [{ name: 'a' }, { name: 'a' }] }) ?? '', /twice/);
    assert.match(
      createProblem({ ...good, template: { ...good.template, taints: [{ key: 'k', effect: 'Never' }] } }) ??
        '',
      /^template\.taints/,
    );
    assert.match(
      createProblem({ ...good, template: { ...good.template, resources: { cpu_millicores: 0 } } }) ?? '',
      /^template\.resources/,
    );
  });
});
