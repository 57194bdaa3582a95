import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkNodeSelector } from './node-selector.ts';

const labels = { disktype: 'hdd', zone: 'z1', cores: '8' };
const reason = (f: ReturnType<typeof checkNodeSelector>) =>
  f && { predicate: f.predicate, message: f.message };

describe('node selector predicate', () => {
  test('every nodeSelector pair must be on the node; the message names the missing pair', () => {
    assert.deepEqual(reason(checkNodeSelector({ nodeSelector: { disktype: 'ssd' } }, {}, 'n1')), {
      predicate: 'node_selector',
      message: 'node selector: disktype=ssd not on node',
    });
    assert.match(
      checkNodeSelector({ nodeSelector: { disktype: 'ssd' } }, labels, 'n1')!.message,
      /it has disktype=hdd/,
    );
    assert.equal(
      checkNodeSelector({ nodeSelector: { zone: 'z1', disktype: 'hdd' } }, labels, 'n1'),
      undefined,
    );
  });
});

describe('required node affinity predicate', () => {
  const term = (operator: string, key: string, values?: string[]) => ({
    matchExpressions: [{ key, operator, values }],
  });
  const fits = (terms: Parameters<typeof checkNodeSelector>[0]['nodeAffinity'], name = 'n1') =>
    checkNodeSelector({ nodeAffinity: terms }, labels, name) === undefined;

  test('In, NotIn, Exists, DoesNotExist, Gt and Lt', () => {
    assert.equal(fits([term('In', 'zone', ['z1', 'z2'])]), true);
    assert.equal(fits([term('In', 'zone', ['z2'])]), false);
    assert.equal(fits([term('NotIn', 'zone', ['z2'])]), true);
    assert.equal(fits([term('NotIn', 'gpu', ['a100'])]), true, 'NotIn matches a node without the key');
    assert.equal(fits([term('Exists', 'cores')]), true);
    assert.equal(fits([term('DoesNotExist', 'cores')]), false);
    assert.equal(fits([term('Gt', 'cores', ['4'])]), true);
    assert.equal(fits([term('Lt', 'cores', ['4'])]), false);
  });

  test('terms are ORed, their requirements ANDed, and matchFields selects metadata.name', () => {
    assert.equal(fits([term('In', 'zone', ['z2']), term('Exists', 'cores')]), true);
    assert.equal(
      fits([
        {
          matchExpressions: [
            ...term('Exists', 'cores').matchExpressions,
            ...term('In', 'zone', ['z9']).matchExpressions,
          ],
        },
      ]),
      false,
    );
    const byName = [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n2'] }] }];
    assert.equal(fits(byName, 'n2'), true);
    assert.equal(fits(byName, 'n1'), false);
  });

  test('no matching term: the reason lists the terms', () => {
    assert.deepEqual(
      reason(checkNodeSelector({ nodeAffinity: [term('In', 'zone', ['z2'])] }, labels, 'n1')),
      {
        predicate: 'node_affinity',
        message: 'node affinity: no term matches (zone In [z2])',
      },
    );
  });
});
