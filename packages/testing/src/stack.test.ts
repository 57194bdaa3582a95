import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseServers } from './stack.ts';

describe('chooseServers', () => {
  test('auto (or unset, or empty) takes containers when a Docker engine answers', () => {
    assert.equal(chooseServers('auto', true), 'containers');
    assert.equal(chooseServers(undefined, true), 'containers');
    assert.equal(chooseServers('', true), 'containers');
  });

  test('auto (or unset) takes the native stack without an engine', () => {
    assert.equal(chooseServers('auto', false), 'native');
    assert.equal(chooseServers(undefined, false), 'native');
  });

  test('native is native even with an engine', () => {
    assert.equal(chooseServers('native', true), 'native');
  });

  test('containers is containers even when our probe found no engine', () => {
    assert.equal(chooseServers('containers', false), 'containers');
  });

  test('any other setting is refused, naming it and the valid ones', () => {
    assert.throws(() => chooseServers('docker', true), /must be auto, native or containers, not 'docker'/);
    assert.throws(() => chooseServers('Native', false), /not 'Native'/);
  });
});
