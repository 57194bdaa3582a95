import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leaseName } from './app.ts';

// A Lease's name is a DNS subdomain: lower-case alphanumerics, '-' and '.', starting and
// ending alphanumeric, at most 253 characters.
const subdomain = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

test('the Lease of a cluster is scalewise-<cluster id>-metrics-listener', () => {
  assert.equal(leaseName('prod-eu-1'), 'scalewise-prod-eu-1-metrics-listener');
});

test('any cluster id gives a valid DNS subdomain, the same for the same id', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (id) => {
      const name = leaseName(id);
      assert.match(name, subdomain);
      assert.ok(name.length <= 253);
      assert.equal(leaseName(id), name);
    }),
  );
});
