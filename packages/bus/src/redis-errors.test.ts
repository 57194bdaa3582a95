import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRedisError } from './redis-errors.ts';

test('refused credentials, an ACL refusal and an untrusted certificate are named; others pass through', () => {
  assert.match(
    describeRedisError(new Error('WRONGPASS invalid username-password pair or user is disabled.')),
    /^Redis refused the credentials \(check redis.username and redis.password\): WRONGPASS/,
  );
  assert.match(describeRedisError(new Error('NOAUTH Authentication required.')), /refused the credentials/);
  assert.match(
    describeRedisError(new Error("NOPERM this user has no permissions to run the 'get' command")),
    /ACL refused/,
  );
  const tls = Object.assign(new Error('self-signed certificate in certificate chain'), {
    code: 'SELF_SIGNED_CERT_IN_CHAIN',
  });
  assert.match(
    describeRedisError(tls),
    /^TLS handshake failed: the server's certificate is not signed by a trusted CA/,
  );
  assert.equal(
    describeRedisError(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
    'connect ECONNREFUSED 127.0.0.1:6379',
  );
});
