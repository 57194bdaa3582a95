// The S3 client's pure parts: SigV4 signatures against the examples AWS publishes for S3
// ("Signature Calculations for the Authorization Header", examplebucket, 2013-05-24), and the
// ListObjectsV2 answer. The calls themselves run against the stack's S3 in bus.int.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseListObjects, signS3Request, uriEncode } from './s3.ts';

const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const base = {
  host: 'examplebucket.s3.amazonaws.com',
  region: 'us-east-1',
  credentials,
  now: new Date('2013-05-24T00:00:00Z'),
};
const signatureOf = (h: Record<string, string>) =>
  /Signature=([0-9a-f]{64})$/.exec(h.authorization ?? '')?.[1];

describe('SigV4', () => {
  test('GET object with a Range header: the signature AWS documents', () => {
    const h = signS3Request({
      ...base,
      method: 'GET',
      path: '/test.txt',
      query: {},
      headers: { Range: 'bytes=0-9' },
      payloadHash: emptyHash,
    });
    assert.equal(
      h.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    assert.equal(h['x-amz-date'], '20130524T000000Z');
  });

  test('PUT object with a payload and an encoded key: the signature AWS documents', () => {
    const h = signS3Request({
      ...base,
      method: 'PUT',
      path: `/${uriEncode('test$file.text', true)}`,
      query: {},
      headers: { Date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    });
    assert.equal(signatureOf(h), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  test('list objects with a query string, sorted and encoded: the signature AWS documents', () => {
    const h = signS3Request({
      ...base,
      method: 'GET',
      path: '/',
      query: { prefix: 'J', 'max-keys': '2' },
      headers: {},
      payloadHash: emptyHash,
    });
    assert.equal(signatureOf(h), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  test('a session token is sent and signed', () => {
    const h = signS3Request({
      ...base,
      credentials: { ...credentials, sessionToken: 'tok' },
      method: 'HEAD',
      path: '/b',
      query: {},
      headers: {},
      payloadHash: emptyHash,
    });
    assert.equal(h['x-amz-security-token'], 'tok');
    assert.match(
      h.authorization ?? '',
      /SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/,
    );
  });

  test('keys are encoded as RFC 3986 wants, slashes kept in paths only', () => {
    assert.equal(uriEncode("dlq/a b/c*(d)!'.json", true), 'dlq/a%20b/c%2A%28d%29%21%27.json');
    assert.equal(uriEncode('a/b'), 'a%2Fb');
  });
});

describe('ListObjectsV2 answers', () => {
  test('keys (XML entities decoded), sizes, times and the continuation token of a truncated page', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>dlq/</Prefix>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>
<Contents><Key>dlq/t/a&amp;b.json</Key><LastModified>2026-11-22T10:00:00.000Z</LastModified><Size>42</Size></Contents>
<Contents><Key>dlq/t/c.json</Key><LastModified>2026-11-22T10:00:01.000Z</LastModified><Size>7</Size></Contents>
</ListBucketResult>`;
    assert.deepEqual(parseListObjects(xml), {
      contents: [
        { key: 'dlq/t/a&b.json', size: 42, lastModified: new Date('2026-11-22T10:00:00.000Z') },
        { key: 'dlq/t/c.json', size: 7, lastModified: new Date('2026-11-22T10:00:01.000Z') },
      ],
      nextContinuationToken: 'tok&1',
    });
  });

  test('the last page has no continuation token', () => {
    const xml =
      '<ListBucketResult><IsTruncated>false</IsTruncated><NextContinuationToken>x</NextContinuationToken></ListBucketResult>';
    assert.deepEqual(parseListObjects(xml), { contents: [] });
  });
});
