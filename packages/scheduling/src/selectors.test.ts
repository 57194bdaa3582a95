import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matchesLabelSelector, nodeTermMatches, selectorKey, showSelector } from './selectors.ts';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front' };

  test('an empty selector matches every pod, an absent one none', () => {
    assert.equal(matchesLabelSelector({}, labels), true);
    assert.equal(matchesLabelSelector(undefined, labels), false);
  });

  test('matchLabels and matchExpressions are ANDed', () => {
    const sel = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }],
    };
    assert.equal(matchesLabelSelector(sel, labels), false);
    assert.equal(matchesLabelSelector({ ...sel, matchExpressions: [] }, labels), true);
  });

  test('In, NotIn, Exists and DoesNotExist as in Kubernetes (NotIn matches a missing key)', () => {
    const m = (operator: string, key: string, values?: string[]) =>
      matchesLabelSelector({ matchExpressions: [{ key, operator, values }] }, labels);
    assert.equal(m('In', 'app', ['web', 'db']), true);
    assert.equal(m('In', 'zone', ['z1']), false);
    assert.equal(m('NotIn', 'app', ['web']), false);
    assert.equal(m('NotIn', 'zone', ['z1']), true);
    assert.equal(m('Exists', 'tier'), true);
    assert.equal(m('DoesNotExist', 'tier'), false);
    assert.equal(m('Bogus', 'tier'), false);
  });

  test('equal selectors written differently get the same key', () => {
    assert.equal(
      selectorKey({ matchLabels: { a: '1', b: '2' } }),
      selectorKey({ matchLabels: { b: '2', a: '1' } }),
    );
    assert.notEqual(selectorKey({}), selectorKey(undefined));
    assert.equal(showSelector({ matchLabels: { app: 'web' } }), 'app=web');
  });
});

describe('node selector terms', () => {
  const labels = { cores: '8', zone: 'z1' };

  test('Gt and Lt compare integers; a term with no requirement matches no node', () => {
    const t = (operator: string, v: string) => ({
      matchExpressions: [{ key: 'cores', operator, values: [v] }],
    });
    assert.equal(nodeTermMatches(t('Gt', '4'), labels, 'n1'), true);
    assert.equal(nodeTermMatches(t('Gt', '8'), labels, 'n1'), false);
    assert.equal(nodeTermMatches(t('Lt', '16'), labels, 'n1'), true);
    assert.equal(nodeTermMatches(t('Lt', 'x'), labels, 'n1'), false);
    assert.equal(nodeTermMatches({}, labels, 'n1'), false);
  });

  test('matchFields selects by metadata.name', () => {
    const t = (operator: string) => ({ matchFields: [{ key: 'metadata.name', operator, values: ['n1'] }] });
    assert.equal(nodeTermMatches(t('In'), labels, 'n1'), true);
    assert.equal(nodeTermMatches(t('In'), labels, 'n2'), false);
    assert.equal(nodeTermMatches(t('NotIn'), labels, 'n2'), true);
  });
});
