// scalewise-bus's Kafka security from the configuration's environment names, bound here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import { kafkaSecurityFromEnv } from './bus-cli-env.ts';

const files: Record<string, string> = { '/ca.pem': '-----BEGIN CERTIFICATE-----\n', '/pw': 'secret\n' };
const read = (p: string) => {
  const f = files[p];
  if (f === undefined) throw new Error(`ENOENT ${p}`);
  return f;
};

test('SASL_SSL: the CA, and SCRAM with the password from its file', () => {
  const out = kafkaSecurityFromEnv(
    {
      KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_USERNAME: 'admin',
      KAFKA_PASSWORD_FILE: '/pw',
      KAFKA_SSL_CA_FILE: '/ca.pem',
    },
    read,
  );
  assert.deepEqual(out, {
    ssl: { rejectUnauthorized: true, ca: ['-----BEGIN CERTIFICATE-----\n'] },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'secret' },
  });
});

test('plaintext by default; a missing user or an unknown protocol is named', () => {
  assert.deepEqual(kafkaSecurityFromEnv({}, read), {});
  assert.throws(
    () => kafkaSecurityFromEnv({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_PASSWORD: 'x' }, read),
    (e: unknown) => e instanceof ScalewiseError && /KAFKA_USERNAME is not set/.test(e.message),
  );
  assert.throws(
    () => kafkaSecurityFromEnv({ KAFKA_SECURITY_PROTOCOL: 'TLS' }, read),
    /KAFKA_SECURITY_PROTOCOL is 'TLS'/,
  );
  assert.throws(
    () => kafkaSecurityFromEnv({ KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/nope' }, read),
    /cannot read the file KAFKA_SSL_CA_FILE names/,
  );
});
