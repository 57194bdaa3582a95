// The flag parser both command lines share: parseArgs' shapes in, commander underneath.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlagError, parseFlags } from './cli-args.ts';

const flags = {
  help: { type: 'boolean', short: 'h' },
  'no-color': { type: 'boolean' },
  type: { type: 'string', multiple: true },
  pool: { type: 'string' },
  json: { type: 'boolean' },
} as const;

describe('parseFlags', () => {
  test('values keyed by the flag names: a no- flag as given, a repeated flag collected, = or a space', () => {
    assert.deepEqual(parseFlags('tail', ['--no-color', '-h', '--type', 'a', '--type=b', '--pool=w'], flags), {
      values: { 'no-color': true, help: true, type: ['a', 'b'], pool: 'w' },
      positionals: [],
    });
  });

  test('positionals only where allowed; after -- everything is one', () => {
    assert.deepEqual(parseFlags('explain', ['abc', '--', '--json'], flags, true), {
      values: {},
      positionals: ['abc', '--json'],
    });
    assert.throws(() => parseFlags('tail', ['abc'], flags), /^FlagError: Unexpected argument 'abc'/);
  });

  test('an unknown flag and a missing value are named', () => {
    assert.throws(() => parseFlags('tail', ['--force'], flags), new FlagError("Unknown option '--force'"));
    assert.throws(() => parseFlags('tail', ['--pool'], flags), /Option '--pool <value>' argument missing/);
    assert.throws(() => parseFlags('tail', ['--no-color=1'], flags), /Unknown option '--no-color=1'/);
  });
});
