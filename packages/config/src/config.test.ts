import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ScalewiseError } from '@scalewise/errors';
import {
  type ConfigProblem,
  kafkaClientConfig,
  loadConfig,
  redact,
  s3ClientConfig,
  topicNames,
} from './index.ts';
import { invalidConfig, readFrom } from './test-support.ts';

const minimal = `
autoscaler:
  pools:
    - name: workers
`;

const load = (text: string, env: Record<string, string> = {}, files: Record<string, string> = {}) =>
  loadConfig({
    text,
    env,
    readFile: readFrom(files),
  });

/** The problems of a config that must fail. */
function problems(
  text: string,
  env: Record<string, string> = {},
  files: Record<string, string> = {},
): ConfigProblem[] {
  const { problems: list, message } = invalidConfig(() => load(text, env, files));
  assert.match(message, new RegExp(`${list.length} problem`));
  for (const p of list) assert.ok(message.includes(p.key), `the message names ${p.key}`);
  return list;
}

const keys = (list: ConfigProblem[]) => list.map((p) => p.key).sort();

describe('defaults', () => {
  test('a pool name is enough; every default is the documented one', () => {
    const { config } = load(minimal);
    const [pool] = config.autoscaler.pools;
    assert.ok(pool);
    assert.equal(pool.min, 2, 'seed 000 limits.min_nodes');
    assert.equal(pool.max, 6, 'seed 000 limits.max_nodes');
    assert.equal(pool.provider, 'kwok');
    assert.deepEqual(pool.thresholds, {
      cpu_high_percent: 80,
      memory_high_percent: 85,
      cpu_low_percent: 30,
      memory_low_percent: 40,
      cpu_target_percent: 60,
      memory_target_percent: 70,
      underutilized_for_seconds: 300,
    });
    assert.equal(pool.behavior.scale_up.stabilization_window_seconds, 0);
    assert.equal(pool.behavior.scale_down.stabilization_window_seconds, 300);
    assert.deepEqual(pool.behavior.scale_up.policies, [
      { type: 'Pods', value: 4, period_seconds: 15 },
      { type: 'Percent', value: 100, period_seconds: 15 },
    ]);
    assert.equal(pool.behavior.scale_down.select_policy, 'Max');
    assert.equal(pool.cooldown_seconds, 60);
    assert.deepEqual(pool.allowed_trigger_sources, ['*']);
    assert.deepEqual(config.autoscaler.enforcement, {
      auto_scale_to_min: true,
      min_violation_check_interval: 10,
      emergency_scale_threshold: 2,
      emergency_window_seconds: 60,
    });
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.kafka.security.protocol, 'PLAINTEXT');
    assert.equal(config.redis.url, 'redis://127.0.0.1:6379');
    assert.equal(config.s3.bucket, 'scalewise-dlq');
    assert.equal(config.events.partitions, 6);
    assert.equal(config.http.port, 8080);
    assert.equal(config.telemetry.otlp_traces_endpoint, undefined, 'traces are off by default');
  });

  test('a pool without min/max takes autoscaler.limits; its own win', () => {
    const { config } = load(`
autoscaler:
  limits: { min_nodes: 1, max_nodes: 9 }
  pools:
    - name: a
    - name: b
      min: 3
      max: 4
`);
    assert.deepEqual(
      config.autoscaler.pools.map((p) => [p.name, p.min, p.max]),
      [
        ['a', 1, 9],
        ['b', 3, 4],
      ],
    );
  });
});

describe('every problem at once, each naming its key', () => {
  test('bad values in many sections are all reported', () => {
    const list = problems(`
autoscaler:
  pools:
    - name: Workers_1
      min: -1
      max: 0
      thresholds: { cpu_high_percent: 120 }
      behavior:
        scale_up: { select_policy: Fastest }
  enforcement:
    min_violation_check_interval: 0
kafka:
  brokers: [localhost]
redis:
  url: http://redis:6379
http:
  port: 70000
`);
    assert.deepEqual(keys(list), [
      'autoscaler.enforcement.min_violation_check_interval',
      'autoscaler.pools[0].behavior.scale_up.select_policy',
      'autoscaler.pools[0].max',
      'autoscaler.pools[0].min',
      'autoscaler.pools[0].name',
      'autoscaler.pools[0].thresholds.cpu_high_percent',
      'http.port',
      'kafka.brokers[0]',
      'redis.url',
    ]);
    const byKey = new Map(list.map((p) => [p.key, p]));
    assert.match(byKey.get('kafka.brokers[0]')?.message ?? '', /host:port/);
    assert.match(
      byKey.get('autoscaler.pools[0].behavior.scale_up.select_policy')?.message ?? '',
      /"Max", "Min", "Disabled"/,
    );
    assert.match(byKey.get('autoscaler.pools[0].thresholds.cpu_high_percent')?.message ?? '', /0-100/);
    assert.ok(list.every((p) => p.source === 'in the file'));
  });

  test('a missing autoscaler section and unknown keys are named', () => {
    const list = problems('kafak:\n  brokers: [a:1]\n');
    assert.deepEqual(keys(list), ['(root)', 'autoscaler']);
    assert.match(list.find((p) => p.key === '(root)')?.message ?? '', /unknown key 'kafak'/);
    assert.match(list.find((p) => p.key === 'autoscaler')?.message ?? '', /required/);
  });

  test('no pools, wrong types', () => {
    const list = problems('autoscaler:\n  pools: []\nevents:\n  partitions: "six"\n');
    assert.deepEqual(keys(list), ['autoscaler.pools', 'events.partitions']);
    assert.match(list.find((p) => p.key === 'events.partitions')?.message ?? '', /expected number/);
  });

  test('checks across keys: min above max, duplicate pools, thresholds that cross', () => {
    const list = problems(`
autoscaler:
  limits: { min_nodes: 5, max_nodes: 3 }
  pools:
    - { name: a, min: 4, max: 2 }
    - { name: a, min: 1, max: 2, thresholds: { cpu_low_percent: 90 } }
    - name: b
      behavior: { scale_down: { policies: [] } }
`);
    assert.deepEqual(keys(list), [
      'autoscaler.limits',
      'autoscaler.pools[0]',
      'autoscaler.pools[1].name',
      'autoscaler.pools[1].thresholds.cpu_low_percent',
      'autoscaler.pools[2]',
      'autoscaler.pools[2].behavior.scale_down.policies',
    ]);
  });

  test('leader election: a renewal not below the lease, and a namespace that is no DNS label, are named', () => {
    const list = problems(`
autoscaler:
  pools: [{ name: a }]
  sensing: { leader_election: { lease_seconds: 5, renew_seconds: 5, namespace: Kube_System } }
`);
    assert.deepEqual(keys(list), [
      'autoscaler.sensing.leader_election.namespace',
      'autoscaler.sensing.leader_election.renew_seconds',
    ]);
  });

  test('a YAML syntax error names the line; a duplicate key is an error', () => {
    const list = problems('autoscaler:\n  pools:\n    - name: a\n  pools: []\n');
    assert.equal(list[0]?.key, '(yaml)');
    assert.match(list[0]?.message ?? '', /unique/i);
    const broken = problems('autoscaler: [\n');
    assert.equal(broken[0]?.key, '(yaml)');
  });

  test('no file at all says how to give one', () => {
    assert.throws(() => loadConfig({ env: {} }), /SCALEWISE_CONFIG/);
    assert.throws(
      () => loadConfig({ env: { SCALEWISE_CONFIG: '/nonexistent/scalewise.yaml' } }),
      /cannot read \/nonexistent\/scalewise.yaml/,
    );
  });
});

describe('environment overrides', () => {
  const file = `${minimal}kafka:\n  brokers: [file:9092]\nredis:\n  url: redis://file:6379\n`;

  test('the environment wins over the file', () => {
    const { config } = load(file, {
      KAFKA_BROKERS: 'a:9092, b:9093',
      REDIS_URL: 'redis://env:6379',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'false',
      SCALEWISE_HTTP_PORT: '9100',
      KAFKA_TOPIC_PREFIX: 'prod.',
      KAFKA_TOPIC_TRIGGERS: 'ops-triggers',
      LOG_LEVEL: 'debug',
    });
    assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9093']);
    assert.equal(config.redis.url, 'redis://env:6379');
    assert.equal(config.s3.endpoint, 'http://127.0.0.1:9000');
    assert.equal(config.s3.force_path_style, false);
    assert.equal(config.http.port, 9100);
    assert.equal(config.telemetry.log_level, 'debug');
    const names = topicNames(config);
    assert.equal(names.triggers, 'ops-triggers');
    assert.equal(names.metrics, 'prod.metrics');
  });

  test('SCALEWISE_INSTANCE_ID names the replica in its consumer groups; unset, membership is dynamic', () => {
    assert.equal(load(file).config.events.group_instance_id, undefined);
    const { config } = load(file, { SCALEWISE_INSTANCE_ID: 'node-manager-7c9f8-x2k4q' });
    assert.equal(config.events.group_instance_id, 'node-manager-7c9f8-x2k4q');
    const list = problems(file, { SCALEWISE_INSTANCE_ID: 'pod name with spaces' });
    const bad = list.find((p) => p.key === 'events.group_instance_id');
    assert.equal(bad?.source, 'from SCALEWISE_INSTANCE_ID');
    assert.match(bad?.message ?? '', /letters, digits/);
    assert.deepEqual(keys(problems(`${file}events:\n  group_instance_id: ${'x'.repeat(250)}\n`)), [
      'events.group_instance_id',
    ]);
  });

  test('a bad environment value is reported with the variable it came from', () => {
    const list = problems(file, { SCALEWISE_HTTP_PORT: 'eighty', KAFKA_SECURITY_PROTOCOL: 'TLS' });
    const port = list.find((p) => p.key === 'http.port');
    assert.equal(port?.source, 'from SCALEWISE_HTTP_PORT');
    assert.equal(
      list.find((p) => p.key === 'kafka.security.protocol')?.source,
      'from KAFKA_SECURITY_PROTOCOL',
    );
  });

  test('secrets never appear in an error or in the redacted config', () => {
    const secret = 'hunter2-very-secret';
    const err = (() => {
      try {
        load(file, {
          KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
          KAFKA_SASL_MECHANISM: 'SCRAM-SHA-1',
          KAFKA_USERNAME: 'svc',
          KAFKA_PASSWORD: secret,
          S3_SECRET_ACCESS_KEY: secret,
        });
      } catch (e) {
        return e as ScalewiseError;
      }
      return undefined;
    })();
    assert.ok(err);
    assert.ok(!err.message.includes(secret));
    assert.ok(!JSON.stringify(err.details).includes(secret));
    assert.match(err.message, /kafka\.security\.mechanism/);
    assert.match(err.message, /s3\.access_key_id: access_key_id and secret_access_key go together/);

    const { config } = load(
      `${minimal}alerts:\n  sinks:\n    - { name: ops, kind: slack, url: "https://hooks.slack.test/services/T0/B0/${secret}" }\n`,
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
        KAFKA_USERNAME: 'svc',
        KAFKA_PASSWORD: secret,
        REDIS_URL: `redis://default:${secret}@redis:6379`,
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: secret,
      },
    );
    const shown = JSON.stringify(redact(config));
    assert.ok(!shown.includes(secret), shown);
    assert.match(shown, /redis:\/\/default:\*\*\*@redis:6379/);
    assert.match(shown, /"password":"\*\*\*"/);
  });

  test('*_FILE variables read the secret from a file (Kubernetes Secret mounts)', () => {
    const { config } = load(
      minimal,
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_MECHANISM: 'PLAIN',
        KAFKA_USERNAME: 'svc',
        KAFKA_PASSWORD_FILE: '/run/secrets/kafka',
      },
      { '/run/secrets/kafka': 'from-file\n' },
    );
    assert.equal(config.kafka.security.password, 'from-file');
    const list = problems(minimal, { KAFKA_PASSWORD_FILE: '/missing' });
    assert.equal(list[0]?.key, 'kafka.security.password');
    assert.match(list[0]?.message ?? '', /KAFKA_PASSWORD_FILE/);
  });
});

describe('Kafka security mapped to the client', () => {
  test('SASL_SSL with SCRAM-SHA-256 and a CA file', () => {
    const loaded = load(
      `${minimal}kafka:\n  brokers: [k:9093]\n  security:\n    protocol: SASL_SSL\n    mechanism: SCRAM-SHA-256\n    username: svc\n    ca_file: /ca.pem\n`,
      { KAFKA_PASSWORD: 'pw' },
      { '/ca.pem': '-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n' },
    );
    const client = kafkaClientConfig(loaded, 'decision-engine');
    assert.equal(client.clientId, 'decision-engine');
    assert.deepEqual(client.brokers, ['k:9093']);
    assert.deepEqual(client.sasl, { mechanism: 'scram-sha-256', username: 'svc', password: 'pw' });
    assert.deepEqual(client.ssl, {
      rejectUnauthorized: true,
      ca: ['-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n'],
    });
  });

  test('SSL with a client certificate (mTLS) and SCRAM-SHA-512 over SASL_PLAINTEXT', () => {
    const pem = '-----BEGIN X-----\n';
    const mtls = load(
      minimal,
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CERT_FILE: '/c', KAFKA_SSL_KEY_FILE: '/k' },
      { '/c': `${pem}c`, '/k': `${pem}k` },
    );
    const c = kafkaClientConfig(mtls, 'x');
    assert.deepEqual(c.ssl, { rejectUnauthorized: true, cert: `${pem}c`, key: `${pem}k` });
    assert.equal(c.sasl, undefined);
    const plain = load(minimal, {
      KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_USERNAME: 'u',
      KAFKA_PASSWORD: 'p',
    });
    const p = kafkaClientConfig(plain, 'x');
    assert.equal(p.ssl, undefined);
    assert.deepEqual(p.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });

  test('the reconnect backoff: 100 ms doubling up to kafka.retry_backoff_max_ms (1 s unless set)', () => {
    assert.deepEqual(kafkaClientConfig(load(minimal), 'x').retry, {
      initialRetryTime: 100,
      maxRetryTime: 1000,
    });
    const slow = load(`${minimal}kafka:\n  retry_backoff_max_ms: 5000\n`);
    assert.deepEqual(kafkaClientConfig(slow, 'x').retry, { initialRetryTime: 100, maxRetryTime: 5000 });
    assert.deepEqual(keys(problems(`${minimal}kafka:\n  retry_backoff_max_ms: 10\n`)), [
      'kafka.retry_backoff_max_ms',
    ]);
  });

  test('inconsistent security settings are reported', () => {
    assert.deepEqual(keys(problems(minimal, { KAFKA_SSL_CERT_FILE: '/c' })), [
      'kafka.security.key_file',
      'kafka.security.protocol',
    ]);
    assert.deepEqual(keys(problems(minimal, { KAFKA_USERNAME: 'u' })), ['kafka.security.protocol']);
    const unreadable = problems(minimal, { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/nope' });
    assert.equal(unreadable[0]?.key, 'kafka.security.ca_file');
    assert.match(unreadable[0]?.message ?? '', /cannot read \/nope/);
    const notPem = problems(
      minimal,
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/ca' },
      { '/ca': 'garbage' },
    );
    assert.match(notPem[0]?.message ?? '', /not a PEM file/);
  });
});

test('s3ClientConfig carries the endpoint, credentials and path style', () => {
  const { config } = load(minimal, {
    S3_ENDPOINT: 'http://127.0.0.1:9000',
    S3_ACCESS_KEY_ID: 'id',
    S3_SECRET_ACCESS_KEY: 'secret',
    S3_BUCKET: 'dlq-bucket',
  });
  assert.deepEqual(s3ClientConfig(config), {
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
    bucket: 'dlq-bucket',
    accessKeyId: 'id',
    secretAccessKey: 'secret',
    forcePathStyle: true,
  });
});

test('every configuration file the repository ships is valid', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = join(import.meta.dirname, '..', '..', '..');
  const files = [
    'config/scalewise.example.yaml',
    'config/scalewise.local.yaml',
    'config/scalewise.compose.yaml',
  ];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    const { config } = loadConfig({ text, env: {} });
    assert.ok(config.autoscaler.pools.length > 0, file);
  }
});
