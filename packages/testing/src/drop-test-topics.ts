/**
 * Drops the Kafka topics an integration run created (scripts/run-tests.mjs runs this after
 * the run): every test names its topics after `uniqueName`, which records each name in
 * `SCALEWISE_TEST_NAMES_FILE`. Without this, every run leaves hundreds of partitions
 * behind, and a broker holding tens of thousands of them takes minutes to start.
 *
 *   node packages/testing/src/drop-test-topics.ts <names-file> <broker,...>
 */
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { topicsOfRun } from './names.ts';

const [namesFile, brokers] = process.argv.slice(2);
if (!namesFile || !brokers) {
  console.error('usage: drop-test-topics.ts <names-file> <broker,...>');
  process.exit(2);
}
const names = readFileSync(namesFile, 'utf8').split('\n');
const admin = new Kafka({
  clientId: 'scalewise-test-cleanup',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 2 },
}).admin();
try {
  await admin.connect();
  const topics = topicsOfRun(await admin.listTopics(), names);
  // In batches: one request naming thousands of topics can outlive the request timeout.
  for (let i = 0; i < topics.length; i += 200) {
    await admin.deleteTopics({ topics: topics.slice(i, i + 200), timeout: 30_000 });
  }
  console.log(`run-tests: dropped the ${topics.length} Kafka topics this run created`);
} catch (err) {
  // Leftover topics cost start time, not correctness: report and carry on.
  console.log(`run-tests: could not drop this run's Kafka topics: ${(err as Error).message}`);
} finally {
  await admin.disconnect().catch(() => {});
}
