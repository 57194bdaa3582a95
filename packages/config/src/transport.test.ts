// Transport security in the configuration: every field of kafka.security, redis and s3 that
// concerns TLS and credentials reaches the clients' options, and the combinations that cannot
// work are refused naming the key.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafkaClientConfig, loadConfig, redact, redisClientConfig, s3ClientConfig } from './index.ts';
import { invalidConfig, readFrom } from './test-support.ts';

const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const files: Record<string, string> = {
  '/tls/ca.pem': pem,
  '/tls/other.pem': pem.replace('MIIB', 'MIIC'),
  '/secrets/kafka': 'kafka-secret\n',
  '/secrets/redis': 'redis-secret\n',
  '/secrets/empty': '\n',
  '/secrets/rotating': 'first\n',
  '/not-pem': 'hello',
};
const load = (text: string, env: Record<string, string> = {}) =>
  loadConfig({
    text: `autoscaler:\n  pools:\n    - name: workers\n${text}`,
    env,
    httpTokens: false,
    readFile: readFrom(files),
  });
const problems = (text: string, env: Record<string, string> = {}) =>
  invalidConfig(() => load(text, env)).problems;

describe('kafka.security', () => {
  test('SASL_SSL with SCRAM-SHA-512, password_file and ca_file: kafkajs gets the CA and the password read at load', () => {
    const loaded = load(`kafka:
  brokers: [b:9094]
  security: { protocol: SASL_SSL, mechanism: SCRAM-SHA-512, username: svc, password_file: /secrets/kafka, ca_file: /tls/ca.pem }
`);
    const k = kafkaClientConfig(loaded, 'svc');
    assert.deepEqual(k.sasl, { mechanism: 'scram-sha-512', username: 'svc', password: 'kafka-secret' });
    assert.deepEqual(k.ssl, { rejectUnauthorized: true, ca: [pem] });
    assert.equal(
      (redact(loaded.config) as { kafka: { security: { password: string } } }).kafka.security.password,
      '***',
    );
  });

  test('a password file is read again on each authentication: a corrected file needs no restart', () => {
    const loaded = load(`kafka:
  security: { protocol: SASL_SSL, mechanism: SCRAM-SHA-512, username: svc, password_file: /secrets/rotating }
`);
    const k = kafkaClientConfig(loaded, 'svc');
    assert.equal((k.sasl as { password: string }).password, 'first');
    files['/secrets/rotating'] = 'second\n';
    assert.equal((k.sasl as { password: string }).password, 'second');
    // Between two writes of a mounted Secret: the last value read stands, not an empty password.
    files['/secrets/rotating'] = '';
    assert.equal((k.sasl as { password: string }).password, 'second');
    assert.equal(loaded.secret?.('kafka.security.password'), 'second');
    assert.equal(loaded.secret?.('redis.password'), undefined, 'not from a file');
    files['/secrets/rotating'] = 'first\n';
  });

  test('password and password_file both, or a password file that is empty, are refused', () => {
    const both = problems(`kafka:
  security: { protocol: SASL_SSL, mechanism: PLAIN, username: u, password: p, password_file: /secrets/kafka }
`);
    assert.deepEqual(
      both.map((p) => p.key),
      ['kafka.security.password_file'],
    );
    const empty = problems(`kafka:
  security: { protocol: SASL_SSL, mechanism: PLAIN, username: u, password_file: /secrets/empty }
`);
    assert.match(empty[0]?.message ?? '', /is empty/);
  });

  test('a password_file without SASL is refused like a password', () => {
    const p = problems('kafka:\n  security: { password_file: /secrets/kafka }\n');
    assert.match(p[0]?.message ?? '', /is PLAINTEXT, but SASL settings are given/);
  });
});

describe('redis', () => {
  test('rediss:// with an ACL user, a password file and a CA: the client options', () => {
    const loaded = load(
      'redis: { url: "rediss://r:6380", username: svc, password_file: /secrets/redis, ca_file: /tls/ca.pem }\n',
    );
    assert.deepEqual(redisClientConfig(loaded), {
      url: 'rediss://r:6380',
      username: 'svc',
      password: 'redis-secret',
      tls: { ca: pem },
    });
    assert.equal((redact(loaded.config) as { redis: { password: string } }).redis.password, '***');
  });

  test('from the environment: REDIS_USERNAME, REDIS_PASSWORD_FILE, REDIS_CA_FILE', () => {
    const loaded = load('', {
      REDIS_URL: 'rediss://r:6380',
      REDIS_USERNAME: 'svc',
      REDIS_PASSWORD_FILE: '/secrets/redis',
      REDIS_CA_FILE: '/tls/ca.pem',
    });
    assert.deepEqual(redisClientConfig(loaded), {
      url: 'rediss://r:6380',
      username: 'svc',
      password: 'redis-secret',
      tls: { ca: pem },
    });
  });

  test('rediss:// without a CA trusts the system roots; redis:// has no TLS', () => {
    assert.deepEqual(redisClientConfig(load('redis: { url: "rediss://r:6380" }\n')).tls, {});
    assert.equal(redisClientConfig(load('redis: { url: "redis://r:6379" }\n')).tls, undefined);
  });

  test('a CA with redis://, a password twice, a user without a password, a CA that is not PEM: each named', () => {
    assert.deepEqual(
      problems('redis: { url: "redis://r:6379", ca_file: /tls/ca.pem }\n').map((p) => [p.key, p.message]),
      [['redis.ca_file', 'the URL is redis:// (no TLS): use rediss:// to connect over TLS']],
    );
    assert.deepEqual(
      problems('redis: { url: "rediss://:pw@r:6380", password: other }\n').map((p) => p.key),
      ['redis.password'],
    );
    assert.deepEqual(
      problems('redis: { url: "rediss://r:6380", username: svc }\n').map((p) => p.key),
      ['redis.username'],
    );
    assert.deepEqual(
      problems('redis: { url: "rediss://r:6380", ca_file: /not-pem }\n').map((p) => [p.key, p.message]),
      [['redis.ca_file', '/not-pem is not a PEM file']],
    );
  });
});

describe('s3', () => {
  test('an https endpoint with S3_CA_FILE: the client gets the CA', () => {
    const loaded = load(
      's3: { endpoint: "https://s3.local:9443", access_key_id: a, secret_access_key: b }\n',
      {
        S3_CA_FILE: '/tls/other.pem',
      },
    );
    assert.equal(s3ClientConfig(loaded).ca, files['/tls/other.pem']);
    assert.equal(s3ClientConfig(loaded.config).ca, undefined);
  });

  test('a CA with an http endpoint is refused', () => {
    assert.deepEqual(
      problems('s3: { endpoint: "http://s3.local:9000", ca_file: /tls/ca.pem }\n').map((p) => [
        p.key,
        p.message,
      ]),
      [['s3.ca_file', 'the endpoint is http:// (no TLS): use an https:// endpoint']],
    );
  });
});
