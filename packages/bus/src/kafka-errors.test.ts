// Kafka's refusals in words, from errors shaped as kafkajs 2.2.4 throws them (their real
// counterparts: packages/service/src/secure-transport.int.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeKafkaError, kafkaAccessProblem, kafkaRefused } from './kafka-errors.ts';
import {
  connectionClosed,
  coordinatorNotFound,
  groupAuthorizationFailed,
} from './test-support/kafkajs-errors.ts';

const kafkajs = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });

describe('Kafka refusals', () => {
  test('a wrong password is an authentication problem, named as such', () => {
    const err = kafkajs(
      'KafkaJSSASLAuthenticationError',
      'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512',
    );
    assert.equal(kafkaAccessProblem(err), 'authentication');
    assert.match(
      describeKafkaError(err),
      /^SASL authentication failed \(check the user name, password and mechanism.*invalid credentials/,
    );
  });

  test('an untrusted certificate behind the retries is a TLS problem', () => {
    const cause = kafkajs(
      'KafkaJSConnectionError',
      'Connection error: unable to verify the first certificate',
      {
        code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      },
    );
    const err = kafkajs('KafkaJSNumberOfRetriesExceeded', cause.message, { originalError: cause });
    assert.equal(kafkaAccessProblem(err), 'tls');
    assert.match(
      describeKafkaError(err),
      /TLS handshake failed: the server's certificate is not signed by a trusted CA.*UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    );
  });

  test('TOPIC_AUTHORIZATION_FAILED names the topics asked for', () => {
    const err = kafkajs(
      'KafkaJSProtocolError',
      'Not authorized to access topics: [Topic authorization failed]',
      {
        type: 'TOPIC_AUTHORIZATION_FAILED',
      },
    );
    assert.equal(kafkaAccessProblem(err), 'authorization');
    assert.match(
      describeKafkaError(err, { topics: ['scalewise.decisions'] }),
      /^TOPIC_AUTHORIZATION_FAILED: Kafka's authorizer refused this client's user on topic scalewise\.decisions/,
    );
  });

  test('a refusal kafkajs re-wrapped with its message alone is still one', () => {
    const err = kafkajs(
      'KafkaJSNonRetriableError',
      'Not authorized to access topics: [Topic authorization failed]',
    );
    assert.equal(kafkaAccessProblem(err), 'authorization');
    assert.match(describeKafkaError(err, { topics: ['a', 'b'] }), /TOPIC_AUTHORIZATION_FAILED.* topics a, b/);
  });

  test('a coordinator lookup the authorizer refused is a refusal of the group', () => {
    // As the patched kafkajs throws it: the broker's answer to FindCoordinator is the cause.
    const err = coordinatorNotFound(groupAuthorizationFailed());
    assert.equal(kafkaAccessProblem(err), 'authorization');
    assert.equal(kafkaRefused(err), true);
    assert.match(
      describeKafkaError(err, { group: 'scalewise.x' }),
      /^GROUP_AUTHORIZATION_FAILED: Kafka's authorizer refused this client's user on consumer group scalewise\.x/,
    );
  });

  test('a coordinator lookup cut short by a broker going away is no refusal', () => {
    const err = coordinatorNotFound(connectionClosed());
    assert.equal(kafkaAccessProblem(err), undefined);
    assert.equal(kafkaRefused(err), false);
    assert.equal(
      describeKafkaError(err, { group: 'scalewise.x' }),
      'no broker named the coordinator of consumer group scalewise.x: Connection closed',
    );
  });

  test('anything else is no refusal: the innermost message', () => {
    const cause = kafkajs('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:1', {
      code: 'ECONNREFUSED',
    });
    const err = kafkajs('KafkaJSNumberOfRetriesExceeded', 'outer', { originalError: cause });
    assert.equal(kafkaAccessProblem(err), undefined);
    assert.equal(describeKafkaError(err), 'Connection error: connect ECONNREFUSED 127.0.0.1:1');
  });
});
