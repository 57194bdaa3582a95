import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateProblem } from './index.ts';

test("a TLS error on the server's certificate is named with its code, through cause chains", () => {
  const tls = Object.assign(new Error('self-signed certificate in certificate chain'), {
    code: 'SELF_SIGNED_CERT_IN_CHAIN',
  });
  assert.equal(
    certificateProblem(new Error('wrapped', { cause: tls })),
    "TLS handshake failed: the server's certificate is not signed by a trusted CA (is the right CA file configured?): SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain",
  );
  const host = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
  assert.match(certificateProblem(host) ?? '', /does not name the host connected to/);
  const expired = Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' });
  assert.match(certificateProblem({ originalError: expired }) ?? '', /outside its validity period/);
  assert.equal(certificateProblem(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), undefined);
  assert.equal(certificateProblem('not an error'), undefined);
});
