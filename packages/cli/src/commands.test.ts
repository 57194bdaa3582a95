// Argument parsing of every command: pure, no servers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listOf, timeFlag } from './args.ts';
import { parseExplain } from './commands/explain.ts';
import { parseStatus } from './commands/status.ts';
import { parseTail, tailMatches, tailTopicKeys } from './commands/tail.ts';
import { parseTrigger } from './commands/trigger.ts';
import { UsageError } from './errors.ts';
import { bearerToken, tokenSourceOf } from './http.ts';
import { takeFlag } from './run.ts';
import { scaleUpChain } from './test-fixtures.ts';

const usageError = (pattern: RegExp, command?: string) => (err: unknown) => {
  assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
  assert.match(err.message, pattern);
  if (command !== undefined) assert.equal(err.command, command);
  return true;
};

describe('trigger', () => {
  test('scale --count defaults to scale_up and is valid against the catalogue', () => {
    const o = parseTrigger(['scale', '--pool', 'workers', '--count', '2']);
    assert.deepEqual(o, {
      type: 'io.scalewise.trigger.scale',
      data: { pool: 'workers', action: 'scale_up', count: 2 },
      source: '/scalewise/cli',
      json: false,
    });
  });

  test('scale --target is action set; reason, task id and source are carried', () => {
    const o = parseTrigger([
      'scale',
      '--pool=batch',
      '--target',
      '0',
      '--reason',
      'night',
      '--task-id',
      'job-7',
      '--source',
      '/ci/nightly',
    ]);
    assert.notEqual(o, 'help');
    if (o === 'help') return;
    assert.deepEqual(o.data, { pool: 'batch', action: 'set', target: 0, task_id: 'job-7', reason: 'night' });
    assert.equal(o.source, '/ci/nightly');
  });

  test('scale_down with a count', () => {
    const o = parseTrigger(['scale', '--pool', 'w', '--count', '1', '--action', 'scale_down']);
    assert.equal(o !== 'help' && o.data.pool === 'w' && 'action' in o.data && o.data.action, 'scale_down');
  });

  test('count and target together, neither, or a bad action are usage errors', () => {
    assert.throws(
      () => parseTrigger(['scale', '--pool', 'w', '--count', '1', '--target', '3']),
      usageError(/not both/, 'trigger scale'),
    );
    assert.throws(() => parseTrigger(['scale', '--pool', 'w']), usageError(/--count N .* or --target N/));
    assert.throws(
      () => parseTrigger(['scale', '--pool', 'w', '--count', '1', '--action', 'grow']),
      usageError(/--action: expected scale_up or scale_down, got 'grow'/),
    );
  });

  test('a count below 1 or not a number names the flag', () => {
    assert.throws(
      () => parseTrigger(['scale', '--pool', 'w', '--count', '0']),
      usageError(/^--count: .*'0'/),
    );
    assert.throws(
      () => parseTrigger(['scale', '--pool', 'w', '--count', 'two']),
      usageError(/^--count: .*'two'/),
    );
  });

  test('a field the catalogue rejects is reported under its flag', () => {
    assert.throws(
      () => parseTrigger(['update', '--pool', 'w', '--min', '5', '--max', '2']),
      usageError(/^--min: min must not exceed max \(io\.scalewise\.trigger\.update field 'min'\)/),
    );
    assert.throws(
      () => parseTrigger(['pause', '--pool', 'x'.repeat(64)]),
      usageError(/^--pool: .*64|^--pool: /),
    );
    assert.throws(
      () => parseTrigger(['scale', '--pool', 'w', '--count', '1', '--task-id', 't'.repeat(300)]),
      usageError(/^--task-id: /),
    );
  });

  test('pause, resume and update build their types; flags of other kinds are refused', () => {
    const pause = parseTrigger(['pause', '--pool', 'w', '--reason', 'maintenance']);
    assert.equal(pause !== 'help' && pause.type, 'io.scalewise.trigger.pause');
    assert.deepEqual(pause !== 'help' && pause.data, { pool: 'w', reason: 'maintenance' });
    const resume = parseTrigger(['resume', '--pool', 'w']);
    assert.equal(resume !== 'help' && resume.type, 'io.scalewise.trigger.resume');
    const update = parseTrigger(['update', '--pool', 'w', '--max', '9']);
    assert.deepEqual(update !== 'help' && update.data, { pool: 'w', max: 9 });
    assert.throws(
      () => parseTrigger(['pause', '--pool', 'w', '--count', '2']),
      usageError(/--count does not apply/),
    );
    assert.throws(() => parseTrigger(['update', '--pool', 'w']), usageError(/--min and\/or --max/));
  });

  test('a missing pool, an unknown kind or an unknown flag is a usage error', () => {
    assert.throws(() => parseTrigger(['pause']), usageError(/--pool is required/, 'trigger pause'));
    assert.throws(
      () => parseTrigger(['grow', '--pool', 'w']),
      usageError(/unknown trigger 'grow'/, 'trigger'),
    );
    assert.throws(() => parseTrigger([]), usageError(/which trigger/));
    assert.throws(
      () => parseTrigger(['pause', '--pool', 'w', '--force']),
      usageError(/Unknown option '--force'/),
    );
  });

  test('--help anywhere asks for help', () => {
    assert.equal(parseTrigger(['--help']), 'help');
    assert.equal(parseTrigger(['scale', '-h']), 'help');
  });
});

describe('tail', () => {
  test('filters are repeatable and comma-separated; short types become full ones', () => {
    const o = parseTail([
      '--type',
      'ScaleUpDecision,trigger.scale',
      '--type',
      'io.scalewise.NodeReady',
      '--pool',
      'a',
      '--pool',
      'b,c',
      '--severity',
      'warning,critical',
      '--json',
    ]);
    assert.deepEqual(o, {
      types: ['io.scalewise.ScaleUpDecision', 'io.scalewise.trigger.scale', 'io.scalewise.NodeReady'],
      pools: ['a', 'b', 'c'],
      severities: ['warning', 'critical'],
      json: true,
    });
  });

  test('--from takes ISO or epoch ms; a bad one names the flag', () => {
    const o = parseTail(['--from', '2026-11-22T11:20:00Z']);
    assert.equal(o !== 'help' && o.from, Date.parse('2026-11-22T11:20:00Z'));
    assert.equal(timeFlag('tail', 'from', '1700000000000'), 1_700_000_000_000);
    assert.throws(() => parseTail(['--from', 'yesterday']), usageError(/^--from: 'yesterday'/));
  });

  test('an unknown type or severity is refused, with a hint for a wrong case', () => {
    assert.throws(() => parseTail(['--type', 'scaleupdecision']), usageError(/did you mean ScaleUpDecision/));
    assert.throws(
      () => parseTail(['--severity', 'error']),
      usageError(/--severity: expected info, warning or critical/),
    );
  });

  test('only the topics of the asked types are read', () => {
    assert.deepEqual(tailTopicKeys(['io.scalewise.ScaleUpDecision', 'io.scalewise.TriggerRejected']), [
      'decisions',
    ]);
    assert.deepEqual(tailTopicKeys(['io.scalewise.NodeReady', 'io.scalewise.trigger.scale']), [
      'nodes',
      'triggers',
    ]);
    assert.equal(tailTopicKeys([]).length, 9, 'every topic, the audit topic too');
    assert.deepEqual(tailTopicKeys(['io.scalewise.AuditRecorded']), ['audit']);
  });

  test('an event is shown when it passes every filter given', () => {
    const { decision, pending } = scaleUpChain('workers');
    const none = { types: [], pools: [], severities: [] };
    assert.equal(tailMatches(none, decision), true);
    assert.equal(tailMatches({ ...none, types: ['io.scalewise.ScaleUpDecision'] }, decision), true);
    assert.equal(tailMatches({ ...none, types: ['io.scalewise.ScaleUpDecision'] }, pending), false);
    assert.equal(tailMatches({ ...none, pools: ['batch'] }, decision), false);
    assert.equal(tailMatches({ ...none, severities: ['warning'] }, pending), true);
    assert.equal(tailMatches({ ...none, severities: ['warning'] }, decision), false);
  });
});

describe('explain and status', () => {
  const env = {
    SCALEWISE_ALERT_MANAGER_URL: 'http://127.0.0.1:9999/',
    SCALEWISE_API_TOKEN: 'secret-token-123456',
  };

  test('an event id, the URL and token from the environment', () => {
    assert.deepEqual(parseExplain(['abc-1'], env), {
      target: { id: 'abc-1' },
      json: false,
      baseUrl: 'http://127.0.0.1:9999',
      token: 'secret-token-123456',
    });
  });

  test('flags win over the environment; --pool with --at', () => {
    const o = parseExplain(
      [
        '--pool',
        'workers',
        '--at',
        '2026-11-22T11:20:00Z',
        '--alert-manager',
        'http://127.0.0.1:1/',
        '--token',
        't',
      ],
      env,
    );
    assert.deepEqual(o, {
      target: { pool: 'workers', at: Date.parse('2026-11-22T11:20:00Z') },
      json: false,
      baseUrl: 'http://127.0.0.1:1',
      token: 't',
    });
  });

  test('defaults: local alert-manager, no token, --at now', () => {
    const before = Date.now();
    const o = parseExplain(['--pool', 'w'], {});
    assert.ok(o !== 'help');
    assert.ok('pool' in o.target && o.target.at >= before);
    assert.equal(o.baseUrl, 'http://127.0.0.1:8086');
    assert.equal(o.token, undefined);
  });

  test('an id and --pool, neither, two ids, --at alone or a bad URL are usage errors', () => {
    assert.throws(() => parseExplain(['abc', '--pool', 'w'], {}), usageError(/not both/, 'explain'));
    assert.throws(() => parseExplain([], {}), usageError(/give an event id or --pool P/));
    assert.throws(() => parseExplain(['a', 'b'], {}), usageError(/one event id, got 2/));
    assert.throws(() => parseExplain(['a', '--at', 'now'], {}), usageError(/--at goes with --pool/));
    assert.throws(() => parseExplain(['a', '--alert-manager', 'ftp://x'], {}), usageError(/http\(s\) URL/));
  });

  test('status: the decision-engine URL, pools to show', () => {
    assert.deepEqual(
      parseStatus(['--pool', 'a,b', '--json'], { SCALEWISE_DECISION_ENGINE_URL: 'http://127.0.0.1:1' }),
      {
        pools: ['a', 'b'],
        json: true,
        baseUrl: 'http://127.0.0.1:1',
      },
    );
    assert.equal(
      parseStatus([], {}) !== 'help' && (parseStatus([], {}) as { baseUrl: string }).baseUrl,
      'http://127.0.0.1:8082',
    );
    assert.throws(
      () => parseStatus(['--timeout', '0'], {}),
      usageError(/--timeout: expected an integer >= 1/),
    );
  });
});

describe('global flags', () => {
  test('--config and --no-color are taken out of the arguments in every spelling', () => {
    const args = ['list', '--config', 'a.yaml', '--topic', 'dlq', '--no-color', '--config=b.yaml'];
    assert.equal(takeFlag(args, 'config'), 'b.yaml');
    assert.equal(takeFlag(args, 'no-color', true), true);
    assert.deepEqual(args, ['list', '--topic', 'dlq']);
    assert.throws(() => takeFlag(['--config'], 'config'), usageError(/--config needs a value/));
  });

  test('lists drop empty items and spaces', () => {
    assert.deepEqual(listOf(['a, b', ',c,']), ['a', 'b', 'c']);
    assert.deepEqual(listOf(undefined), []);
  });
});

describe('the bearer token', () => {
  test('from --token, --token-file, SCALEWISE_API_TOKEN, SCALEWISE_API_TOKEN_FILE: the first given', () => {
    const env = { SCALEWISE_API_TOKEN: 'env-token', SCALEWISE_API_TOKEN_FILE: '/run/env-file' };
    assert.deepEqual(tokenSourceOf('status', { token: 'flag' }, env), { token: 'flag' });
    assert.deepEqual(tokenSourceOf('status', { 'token-file': '/run/flag-file' }, env), {
      tokenFile: '/run/flag-file',
    });
    assert.deepEqual(tokenSourceOf('status', {}, env), { token: 'env-token' });
    assert.deepEqual(tokenSourceOf('status', {}, { SCALEWISE_API_TOKEN_FILE: '/run/f' }), {
      tokenFile: '/run/f',
    });
    assert.deepEqual(tokenSourceOf('status', {}, {}), {});
    assert.throws(
      () => tokenSourceOf('status', { token: 'a', 'token-file': '/b' }, {}),
      usageError(/give --token or --token-file, not both/, 'status'),
    );
    const o = parseStatus(['--token-file', '/run/t'], env);
    assert.ok(o !== 'help');
    assert.equal(o.tokenFile, '/run/t');
    assert.equal(o.token, undefined);
  });

  test('a token file is read and trimmed; a missing or empty one is an error naming it', () => {
    const files: Record<string, string> = { '/run/t': 'file-token-0123456789\n', '/run/empty': ' \n' };
    const readFile = (p: string) => {
      const f = files[p];
      if (f === undefined) throw new Error(`ENOENT: ${p}`);
      return f;
    };
    assert.equal(bearerToken({ tokenFile: '/run/t' }, readFile), 'file-token-0123456789');
    assert.equal(bearerToken({ token: 'given' }, readFile), 'given');
    assert.equal(bearerToken({}, readFile), undefined);
    assert.throws(
      () => bearerToken({ tokenFile: '/run/none' }, readFile),
      /cannot read the token file \/run\/none: ENOENT/,
    );
    assert.throws(
      () => bearerToken({ tokenFile: '/run/empty' }, readFile),
      /the token file \/run\/empty is empty/,
    );
  });
});
