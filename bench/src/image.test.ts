import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repositoryRoot } from '@scalewise/testing';
import { imageLaunch } from './image.ts';

describe('imageLaunch', () => {
  test('the flags, script and allocator settings of a Dockerfile, other ENV lines left out', () => {
    const launch = imageLaunch(
      [
        'FROM node:24-slim',
        'ENV SCALEWISE_SERVICE=x PATH=/pnpm:$PATH',
        'ENV MALLOC_ARENA_MAX=2',
        'ENV MALLOC_TRIM_THRESHOLD_=131072',
        'ENTRYPOINT ["node", "--enable-source-maps", "--max-semi-space-size=2", "dist/main.js"]',
      ].join('\n'),
    );
    assert.deepEqual(launch, {
      flags: ['--enable-source-maps', '--max-semi-space-size=2'],
      script: 'dist/main.js',
      env: { MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' },
    });
  });

  test('an ENTRYPOINT that is not node, in shell form, or missing is refused by name', () => {
    for (const text of [
      'ENTRYPOINT ["/bin/sh", "-c", "x"]',
      'ENTRYPOINT node dist/main.js',
      'ENTRYPOINT ["node"]',
      'FROM scratch',
    ]) {
      assert.throws(() => imageLaunch(text), /ENTRYPOINT \["node"/, text);
    }
  });

  test("the repository's Dockerfile has a node ENTRYPOINT and allocator settings", () => {
    const launch = imageLaunch(readFileSync(join(repositoryRoot(), 'Dockerfile'), 'utf8'));
    assert.equal(launch.script, 'dist/main.js');
    assert.ok(Object.keys(launch.env).length > 0, 'MALLOC_* settings');
  });
});
