import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sourceAllowed } from './allowlist.ts';

describe('sourceAllowed', () => {
  test('exact names and globs with * and ?', () => {
    assert.ok(sourceAllowed('/ci/pipeline', ['/ci/*']));
    assert.ok(sourceAllowed('job-7', ['job-?']));
    assert.ok(sourceAllowed('anything', ['*']));
    assert.ok(!sourceAllowed('axb', ['a.b']), 'a dot is literal');
    assert.ok(!sourceAllowed('job-17', ['job-?']));
    assert.ok(!sourceAllowed('x', []), 'an empty list allows nothing');
  });

  // A backtracking matcher takes exponential time here; the runner's timeout, not a clock
  // read by the test, is what fails a regression.
  test('a hostile source is refused without backtracking', { timeout: 30_000 }, () => {
    assert.ok(!sourceAllowed(`${'a'.repeat(50_000)}b`, ['*a*a*a*a*a*a*c']));
  });
});
