import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { topicsOfRun, uniqueName } from './names.ts';

describe('uniqueName', () => {
  test('lowercase letters, digits and dashes, different every call', () => {
    const a = uniqueName('Node Manager_Test');
    const b = uniqueName('Node Manager_Test');
    assert.match(a, /^node-manager-test-[0-9a-z]+-[0-9a-f]{6}$/);
    assert.notEqual(a, b);
    assert.match(uniqueName('***'), /^test-/);
  });

  test('with SCALEWISE_TEST_NAMES_FILE set, every name is recorded there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'names-'));
    const file = join(dir, 'names');
    const before = process.env.SCALEWISE_TEST_NAMES_FILE;
    process.env.SCALEWISE_TEST_NAMES_FILE = file;
    try {
      const names = [uniqueName('a'), uniqueName('b')];
      assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), names);
    } finally {
      if (before === undefined) delete process.env.SCALEWISE_TEST_NAMES_FILE;
      else process.env.SCALEWISE_TEST_NAMES_FILE = before;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('topicsOfRun', () => {
  const names = ['sw-mi1-abc123', 'topic-mi2-def456', ''];
  test('a recorded name, or one followed by . - _, is the run’s; anything else is not', () => {
    assert.deepEqual(
      topicsOfRun(
        [
          'sw-mi1-abc123.scaling.decisions',
          'sw-mi1-abc123-dlq',
          'topic-mi2-def456',
          'topic-mi2-def456_x',
          'sw-mi1-abc1234.other',
          'scalewise.triggers',
          '__consumer_offsets',
          'xsw-mi1-abc123.decisions',
        ],
        names,
      ),
      ['sw-mi1-abc123.scaling.decisions', 'sw-mi1-abc123-dlq', 'topic-mi2-def456', 'topic-mi2-def456_x'],
    );
  });
  test('no names, no topics', () => {
    assert.deepEqual(topicsOfRun(['a', 'b.c'], []), []);
    assert.deepEqual(topicsOfRun(['a', 'b.c'], ['']), []);
  });
});
