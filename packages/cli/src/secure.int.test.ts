// The scalewise binary on a Kafka that demands SASL_SSL (SCRAM-SHA-512, the CLI's own user
// and ACLs) and an S3 over https, as an operator runs it: configured from the environment
// only (KAFKA_SECURITY_PROTOCOL, KAFKA_USERNAME, KAFKA_PASSWORD_FILE, KAFKA_SSL_CA_FILE,
// S3_CA_FILE, ...). A wrong password or an untrusted certificate ends the command in seconds
// with a line that names the cause.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { createS3Client, ensureTopics } from '@scalewise/bus';
import {
  type PrivateKafka,
  type PrivateKafkaSecurity,
  type PrivateS3,
  privateTlsDir,
  startPrivateKafka,
  startPrivateS3,
  untrustedCa,
} from '@scalewise/bus/test-support';
import { startNode, uniqueName, waitFor } from '@scalewise/testing';
import { Kafka, logLevel } from 'kafkajs';

const main = new URL('./main.ts', import.meta.url).pathname;
let tlsDir: string;
let kafka: PrivateKafka & { security: PrivateKafkaSecurity };
let s3: PrivateS3;
let otherCa: string;
const bucket = uniqueName('cli-secure-dlq');

before(async () => {
  tlsDir = privateTlsDir();
  [kafka, s3] = await Promise.all([
    startPrivateKafka({ secure: { tlsDir } }),
    startPrivateS3({ tls: true, tlsDir }),
  ]);
  otherCa = untrustedCa(tlsDir);
  // The topics, as the services would have made them; the bucket, as they would have.
  const admin = kafka.security.user('admin');
  const client = new Kafka({
    clientId: 'cli-secure-test',
    brokers: kafka.brokers,
    ssl: { ca: [readFileSync(kafka.security.caFile, 'utf8')] },
    sasl: { mechanism: 'scram-sha-512', username: admin.username, password: admin.password },
    logLevel: logLevel.NOTHING,
  }).admin();
  await client.connect();
  try {
    await ensureTopics(client, { partitions: 2 });
  } finally {
    await client.disconnect();
  }
  const storage = createS3Client({ ...s3, ca: readFileSync(s3.caFile as string, 'utf8') });
  await storage.createBucket(bucket);
  storage.destroy();
});

after(async () => {
  await Promise.all([kafka?.destroy(), s3?.destroy()]);
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

/** The operator's environment: the CLI's SCRAM user, the stack's CA, S3 over https. */
function secureEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const { SCALEWISE_CONFIG: _c, SCALEWISE_API_TOKEN: _t, ...rest } = process.env;
  const cli = kafka.security.user('scalewise-cli');
  const env: NodeJS.ProcessEnv = {
    ...rest,
    NO_COLOR: '1',
    KAFKA_BROKERS: kafka.brokers.join(','),
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_USERNAME: cli.username,
    KAFKA_PASSWORD_FILE: cli.passwordFile,
    KAFKA_SSL_CA_FILE: kafka.security.caFile,
    S3_ENDPOINT: s3.endpoint,
    S3_CA_FILE: s3.caFile,
    S3_REGION: s3.region,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY_FILE: s3.secretAccessKeyFile,
    SCALEWISE_CLI_TIMEOUT_MS: '8000',
  };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

const scalewise = (args: string[], env: NodeJS.ProcessEnv) => startNode(main, args, env);

describe('scalewise on Kafka with SASL_SSL and S3 over https', () => {
  test('tail and trigger as the CLI user: the trigger is published, and tailed', async () => {
    const tail = scalewise(['tail', '--json', '--type', 'io.scalewise.trigger.scale'], secureEnv());
    try {
      await waitFor(() => tail.err().includes('tailing'), {
        timeoutMs: 30_000,
        what: `tail to start: ${tail.err()}`,
      });
      const reason = uniqueName('secure-trigger');
      const trigger = await scalewise(
        ['trigger', 'scale', '--pool', 'workers', '--count', '2', '--reason', reason],
        secureEnv(),
      ).result;
      assert.equal(trigger.code, 0, trigger.stderr);
      await waitFor(() => tail.out().includes(reason), {
        timeoutMs: 20_000,
        what: 'the trigger in the tail',
      });
      const line = tail
        .out()
        .split('\n')
        .find((l) => l.includes(reason)) as string;
      const event = JSON.parse(line) as { type: string; data: { pool: string; count: number } };
      assert.equal(event.type, 'io.scalewise.trigger.scale');
      assert.deepEqual([event.data.pool, event.data.count], ['workers', 2]);
    } finally {
      tail.child.kill('SIGINT');
    }
    assert.equal((await tail.result).code, 0, tail.err());
  });

  test('dlq list reads the bucket over https, trusting S3_CA_FILE', async () => {
    const r = await scalewise(['dlq', 'list'], secureEnv()).result;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`0 dead letter\\(s\\) in ${bucket}`));
  });

  test('a wrong password: exit 1 in seconds, naming the SASL authentication', async () => {
    const r = await scalewise(
      ['trigger', 'pause', '--pool', 'workers'],
      secureEnv({ KAFKA_PASSWORD_FILE: undefined, KAFKA_PASSWORD: 'not-the-password' }),
    ).result;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /SASL authentication failed/);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  });

  test("a CA that did not sign the broker: exit 1, naming the broker's certificate", async () => {
    const r = await scalewise(
      ['trigger', 'pause', '--pool', 'workers'],
      secureEnv({ KAFKA_SSL_CA_FILE: otherCa }),
    ).result;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /TLS handshake failed: the server's certificate is not signed by a trusted CA/);
  });

  test("a CA that did not sign S3: dlq list exits 1, naming the server's certificate", async () => {
    const r = await scalewise(['dlq', 'list'], secureEnv({ S3_CA_FILE: otherCa })).result;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /TLS handshake failed: the server's certificate is not signed by a trusted CA/);
  });
});
