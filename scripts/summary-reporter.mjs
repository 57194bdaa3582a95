// A node:test reporter that writes one line per failed test, "failed: <file>:<line> <name>:
// <the error's first line>", then one closing line: "N passed, N failed, N skipped".
// scripts/test repeats the failure lines in its summary, so the end of a long CI log says
// what failed and why. Suites (describe) are not counted, only tests.
import { relative } from 'node:path';

export default async function* summaryReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) skipped++;
    else if (event.type === 'test:pass') passed++;
    else {
      failed++;
      failures.push(describe(event.data));
    }
  }
  for (const f of failures) yield `${f}\n`;
  yield `${passed} passed, ${failed} failed, ${skipped} skipped\n`;
}

function describe(data) {
  const where = data.file ? `${relative(process.cwd(), data.file)}:${data.line ?? '?'}` : '?';
  const err = data.details?.error;
  // node:test wraps the test's own error as `cause` of an ERR_TEST_FAILURE.
  const inner = err?.cause ?? err;
  const message = String(inner?.message ?? inner ?? 'failed')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 3)
    .join(' | ');
  return `failed: ${where} ${data.name}: ${message.slice(0, 400)}`;
}
