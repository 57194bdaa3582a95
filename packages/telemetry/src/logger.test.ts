import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redactUrlTokens } from './logger.ts';
import { captureLogger } from './test-support.ts';

const capture = () => captureLogger({ service: 'logger-test' });

describe('tokens in URLs', () => {
  test('redactUrlTokens replaces the value of token and access_token, whatever their place', () => {
    assert.equal(redactUrlTokens('/events?token=s3cr3t-value'), '/events?token=[redacted]');
    assert.equal(
      redactUrlTokens('/events?types=a,b&token=s3cr3t&pool=w'),
      '/events?types=a,b&token=[redacted]&pool=w',
    );
    assert.equal(redactUrlTokens('/x?ACCESS_TOKEN=abc#frag'), '/x?ACCESS_TOKEN=[redacted]#frag');
    assert.equal(redactUrlTokens('/v1/tokens/5?pool=w'), '/v1/tokens/5?pool=w', 'a path is left alone');
  });

  test("a request logged as fastify logs it has the URL's token redacted", () => {
    const { lines, logger } = capture();
    const req = { method: 'GET', url: '/events?token=s3cr3t-abcdefghijkl', host: 'h', ip: '127.0.0.1' };
    logger.info({ req }, 'incoming request');
    const line = lines.find((l) => l.msg === 'incoming request');
    assert.deepEqual(line?.req, {
      method: 'GET',
      url: '/events?token=[redacted]',
      host: 'h',
      remoteAddress: '127.0.0.1',
    });
    assert.ok(!JSON.stringify(lines).includes('s3cr3t'));
  });

  test('a URL logged under any other key (a plugin logs `path`) loses its token too', () => {
    const { lines, logger } = capture();
    logger.child({ component: 'ws' }).info({ path: '/v1/events?token=s3cr3t-abcdefghijkl' }, 'closed');
    assert.equal(lines[0]?.path, '/v1/events?token=[redacted]');
    assert.ok(!JSON.stringify(lines).includes('s3cr3t'));
  });
});
