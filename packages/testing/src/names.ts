import { randomBytes } from 'node:crypto';

/**
 * A name unique to this test run, safe for Kafka topics, consumer groups, Redis keys,
 * S3 buckets and Kubernetes objects: lowercase letters, digits and dashes.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${clean || 'test'}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
