// The variables that are not a YAML key's override: each bound once, a provider given only its own.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { busCliEnvironment } from './bus-cli-env.ts';
import { consoleDirectory, dockerEnvironment, processBindings } from './environment.ts';
import { envBindings } from './load.ts';

describe('process bindings', () => {
  test('the Docker provider gets its seven variables and nothing else of the environment', () => {
    const env = {
      DOCKER_HOST: 'tcp://127.0.0.1:2375',
      K3S_TOKEN: 'join',
      K3S_URL: 'https://k3s:6443',
      REDIS_PASSWORD: 'not for the provider',
      HOME: '/root',
    };
    assert.deepEqual(dockerEnvironment(env), {
      DOCKER_HOST: 'tcp://127.0.0.1:2375',
      K3S_TOKEN: 'join',
      K3S_URL: 'https://k3s:6443',
    });
  });

  test('SCALEWISE_CONSOLE_DIR: the directory, or nothing when unset or empty', () => {
    assert.equal(consoleDirectory({ SCALEWISE_CONSOLE_DIR: '/srv/console' }), '/srv/console');
    assert.equal(consoleDirectory({ SCALEWISE_CONSOLE_DIR: '' }), undefined);
    assert.equal(consoleDirectory({}), undefined);
  });

  test('no variable is bound twice, as a key override and besides', () => {
    const overrides = new Set(envBindings.map((b) => b.env));
    assert.deepEqual(
      processBindings.filter((b) => overrides.has(b.env)).map((b) => b.env),
      [],
    );
  });
});

describe('scalewise-bus environment', () => {
  test('the stack env: brokers, prefix, cluster and the S3 of the dead letters', () => {
    const bound = busCliEnvironment(
      {
        KAFKA_BROKERS: '127.0.0.1:9092,127.0.0.1:9093',
        KAFKA_TOPIC_PREFIX: 'dev.',
        S3_ENDPOINT: 'http://127.0.0.1:9000',
        S3_ACCESS_KEY_ID: 'k',
        S3_SECRET_ACCESS_KEY_FILE: '/secret',
      },
      () => 's\n',
    );
    assert.deepEqual(bound.kafka(), { brokers: ['127.0.0.1:9092', '127.0.0.1:9093'] });
    assert.equal(bound.topicPrefix, 'dev.');
    assert.equal(bound.clusterId, 'local');
    assert.deepEqual(bound.s3(), {
      region: 'us-east-1',
      forcePathStyle: true,
      endpoint: 'http://127.0.0.1:9000',
      accessKeyId: 'k',
      secretAccessKey: 's',
      bucket: 'scalewise-dlq',
    });
  });

  test('KAFKA_BROKERS unset: named when Kafka is first needed, not before', () => {
    const bound = busCliEnvironment({});
    assert.throws(() => bound.kafka(), /KAFKA_BROKERS is not set/);
  });
});
