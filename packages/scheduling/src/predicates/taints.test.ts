import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Taint, Toleration } from '../types.ts';
import { checkTaints, tolerates } from './taints.ts';

const gpu: Taint = { key: 'gpu', value: 'true', effect: 'NoSchedule' };

describe('taints predicate', () => {
  test('an untolerated NoSchedule or NoExecute taint fails, named with its value and effect', () => {
    assert.deepEqual(checkTaints([], [gpu]), {
      predicate: 'taints',
      message: 'taint gpu=true:NoSchedule not tolerated',
      summary: 'taint gpu=true:NoSchedule not tolerated',
    });
    assert.equal(
      checkTaints([], [{ key: 'drain', effect: 'NoExecute' }])?.message,
      'taint drain:NoExecute not tolerated',
    );
  });

  test('PreferNoSchedule is ignored', () => {
    assert.equal(checkTaints(undefined, [{ key: 'soft', effect: 'PreferNoSchedule' }]), undefined);
  });

  test('Equal (the default) compares key and value; Exists only the key', () => {
    const t = (x: Toleration) => tolerates(x, gpu);
    assert.equal(t({ key: 'gpu', value: 'true' }), true);
    assert.equal(t({ key: 'gpu', operator: 'Equal', value: 'false' }), false);
    assert.equal(t({ key: 'gpu', operator: 'Exists' }), true);
    assert.equal(t({ key: 'other', operator: 'Exists' }), false);
  });

  test('an empty key with Exists tolerates every taint; an empty effect matches every effect', () => {
    assert.equal(tolerates({ operator: 'Exists' }, gpu), true);
    assert.equal(
      tolerates({ key: 'gpu', operator: 'Exists', effect: '' }, { ...gpu, effect: 'NoExecute' }),
      true,
    );
    assert.equal(tolerates({ key: 'gpu', operator: 'Exists', effect: 'NoExecute' }, gpu), false);
  });

  test('every taint must be tolerated', () => {
    const both: Taint[] = [gpu, { key: 'team', value: 'ml', effect: 'NoSchedule' }];
    assert.equal(
      checkTaints([{ key: 'gpu', operator: 'Exists' }], both)?.message,
      'taint team=ml:NoSchedule not tolerated',
    );
    assert.equal(
      checkTaints(
        [
          { key: 'gpu', operator: 'Exists' },
          { key: 'team', value: 'ml' },
        ],
        both,
      ),
      undefined,
    );
  });
});
