import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScalewiseError } from '@scalewise/errors';
import {
  DEFAULT_DOCKER_SOCKET,
  DOCKER_API_VERSION,
  describeEndpoint,
  errorMessage,
  negotiateApiVersion,
  parseDockerHost,
  pullStreamError,
  splitImage,
} from './docker-api.ts';

describe('DOCKER_HOST', () => {
  test('given nothing, when parsed, then the default socket', () => {
    assert.deepEqual(parseDockerHost(undefined), { kind: 'unix', socketPath: DEFAULT_DOCKER_SOCKET });
    assert.deepEqual(parseDockerHost('  '), { kind: 'unix', socketPath: DEFAULT_DOCKER_SOCKET });
  });

  test('given unix:// or tcp://, when parsed, then the socket path or host and port', () => {
    assert.deepEqual(parseDockerHost('unix:///run/podman/podman.sock'), {
      kind: 'unix',
      socketPath: '/run/podman/podman.sock',
    });
    assert.deepEqual(parseDockerHost('tcp://127.0.0.1:2376'), { kind: 'tcp', host: '127.0.0.1', port: 2376 });
    assert.deepEqual(parseDockerHost('tcp://docker'), { kind: 'tcp', host: 'docker', port: 2375 });
    assert.deepEqual(parseDockerHost('tcp://[::1]:2375/'), { kind: 'tcp', host: '::1', port: 2375 });
    assert.equal(describeEndpoint(parseDockerHost('tcp://docker:2375')), 'tcp://docker:2375');
  });

  for (const bad of [
    'ssh://me@host',
    'npipe:////./pipe/docker_engine',
    'unix://docker.sock',
    'tcp://h:99999',
  ]) {
    test(`given ${bad}, when parsed, then INVALID_CONFIG naming DOCKER_HOST`, () => {
      assert.throws(
        () => parseDockerHost(bad),
        (e) =>
          e instanceof ScalewiseError &&
          e.code === 'INVALID_CONFIG' &&
          e.message.startsWith(`DOCKER_HOST=${bad}:`) &&
          e.details.key === 'DOCKER_HOST',
      );
    });
  }
});

describe('API version negotiation', () => {
  test('given an older engine, then its version; given a newer one, then the pinned one', () => {
    assert.equal(negotiateApiVersion('1.41'), '1.41');
    assert.equal(negotiateApiVersion('1.47'), DOCKER_API_VERSION);
    assert.equal(negotiateApiVersion('2.0'), DOCKER_API_VERSION);
    assert.equal(negotiateApiVersion('1.43'), '1.43');
  });

  test('given no usable header, then the pinned version', () => {
    assert.equal(negotiateApiVersion(undefined), DOCKER_API_VERSION);
    assert.equal(negotiateApiVersion('latest'), DOCKER_API_VERSION);
  });

  test('given an engine older than 1.40, then a DOCKER_API error that a retry cannot fix', () => {
    assert.throws(
      () => negotiateApiVersion('1.39'),
      (e) =>
        e instanceof ScalewiseError &&
        e.code === 'DOCKER_API' &&
        !e.retriable &&
        /speaks API v1\.39.*v1\.40 or newer/.test(e.message),
    );
  });
});

describe('image references', () => {
  test('repo:tag, a registry with a port, and a digest are split for a pull', () => {
    const cases: Array<[string, string, string]> = [
      // reference, fromImage, tag
      ['rancher/k3s:v1.37.2-k3s1', 'rancher/k3s', 'v1.37.2-k3s1'],
      ['localhost:5000/k3s', 'localhost:5000/k3s', 'latest'],
      ['localhost:5000/k3s:v1', 'localhost:5000/k3s', 'v1'],
      ['rancher/k3s@sha256:abc', 'rancher/k3s', 'sha256:abc'],
    ];
    for (const [reference, fromImage, tag] of cases) {
      assert.deepEqual(splitImage(reference), { fromImage, tag }, reference);
    }
  });
});

describe('answers', () => {
  test('a pull stream reporting an error, as the engine does with status 200, is found', () => {
    const stream = [
      '{"status":"Pulling from rancher/k3s","id":"v1"}',
      '{"status":"Downloading","progressDetail":{"current":1,"total":2}}',
      '{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}',
      '',
    ].join('\r\n');
    assert.equal(pullStreamError(stream), 'manifest unknown');
    assert.equal(pullStreamError('{"error":"denied"}\n'), 'denied');
  });

  test('a pull stream without an error, or with a cut line, reports none', () => {
    assert.equal(pullStreamError('{"status":"Status: Image is up to date"}\n{"status":"Dig'), undefined);
  });

  test('the message of an error answer, else its text shortened', () => {
    assert.equal(
      errorMessage('{"message":"No such image: rancher/k3s:v9"}'),
      'No such image: rancher/k3s:v9',
    );
    assert.equal(errorMessage('<html>bad gateway</html>\n'), '<html>bad gateway</html>');
    assert.equal(errorMessage('x'.repeat(400)).length, 300);
  });
});
