import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';

/**
 * A name unique to this test run, safe for Kafka topics, consumer groups, Redis keys,
 * S3 buckets and Kubernetes objects: lowercase letters, digits and dashes.
 *
 * When `SCALEWISE_TEST_NAMES_FILE` is set (scripts/run-tests.mjs sets it for integration
 * runs), the name is also appended to that file, so that the run can drop the Kafka topics
 * named after it once every test file has ended.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const name = `${clean || 'test'}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const record = process.env.SCALEWISE_TEST_NAMES_FILE;
  if (record) appendFileSync(record, `${name}\n`);
  return name;
}

/**
 * The topics among `topics` that a test run created: those equal to one of the run's
 * unique names or starting with one followed by `.`, `-` or `_`. Pure.
 */
export function topicsOfRun(topics: readonly string[], names: readonly string[]): string[] {
  const known = new Set(names.filter((n) => n.length > 0));
  return topics.filter((topic) => {
    if (known.has(topic)) return true;
    for (let end = 1; end < topic.length; end++) {
      const c = topic[end];
      if ((c === '.' || c === '-' || c === '_') && known.has(topic.slice(0, end))) return true;
    }
    return false;
  });
}
