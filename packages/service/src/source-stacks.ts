// Stack traces mapped to the TypeScript sources, paid for on the first error, not at start.
//
// With --enable-source-maps Node reads and decodes a bundle's source map when it loads the
// bundle and keeps it for the life of the process: about 6 MiB of an idle service's 100 MiB
// (bench/README.md, "Idle memory"), held whether or not a stack trace is ever written. Here
// the map of a file is read the first time a stack trace shows a frame in that file: V8 calls
// Error.prepareStackTrace when an error's `stack` is first read, with the frames as call
// sites, and each frame whose file has a `<file>.map` beside it is rewritten to the original
// position. A frame with no mapping (a dependency's code, which the bundle's map leaves out,
// scripts/lib/own-source-map.mjs) keeps its position in the bundle; its function name is kept
// by the bundler.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Position = { file: string; line: number; column: number };
type Mapper = (line: number, column: number) => Position | undefined;

/** Per generated file: its mapper, or null when it has no map (or the map cannot be read). */
const mappers = new Map<string, Mapper | null>();

function mapperFor(file: string): Mapper | null {
  const known = mappers.get(file);
  if (known !== undefined) return known;
  let mapper: Mapper | null = null;
  try {
    const path = file.startsWith('file:') ? fileURLToPath(file) : file;
    const mapPath = `${path}.map`;
    if (isAbsolute(path) && existsSync(mapPath)) {
      const payload = JSON.parse(readFileSync(mapPath, 'utf8')) as SourceMapPayload;
      const map = new SourceMap(payload);
      const base = dirname(mapPath);
      mapper = (line, column) => {
        // findOrigin takes and returns 1-based lines and columns, as stack traces print them.
        const origin = map.findOrigin(line, column) as
          | { fileName?: string; lineNumber?: number; columnNumber?: number }
          | Record<string, never>;
        if (!('fileName' in origin) || !origin.fileName || origin.lineNumber === undefined) return undefined;
        const source = origin.fileName.startsWith('file:') ? fileURLToPath(origin.fileName) : origin.fileName;
        return {
          file: isAbsolute(source) ? source : resolve(base, source),
          line: origin.lineNumber,
          column: origin.columnNumber ?? column,
        };
      };
    }
  } catch {
    mapper = null;
  }
  mappers.set(file, mapper);
  return mapper;
}

/** One frame as V8 writes it, with the bundle's position replaced by the source's. */
export function mappedFrame(site: NodeJS.CallSite): string {
  const text = site.toString();
  const file = site.getFileName();
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (!file || line === null || column === null) return text;
  const mapper = mapperFor(file);
  const origin = mapper?.(line, column);
  if (!origin) return text;
  const generated = `${file}:${line}:${column}`;
  const at = text.lastIndexOf(generated);
  if (at < 0) return text;
  return `${text.slice(0, at)}${origin.file}:${origin.line}:${origin.column}${text.slice(at + generated.length)}`;
}

function header(error: unknown): string {
  try {
    return String(error);
  } catch {
    return '<error>';
  }
}

/** How many source maps this process has read so far (for tests and diagnostics). */
export function sourceMapsRead(): number {
  let n = 0;
  for (const m of mappers.values()) if (m) n++;
  return n;
}

let installed = false;

/**
 * Makes every stack trace of this process name source positions, reading a bundle's source
 * map only when a trace first shows one of its frames. Does nothing when Node maps stacks
 * itself (--enable-source-maps) or another program's hook is installed.
 */
export function installSourceMappedStacks(): void {
  if (installed) return;
  installed = true;
  // Node (22 and later) installs a default hook of its own, ErrorPrepareStackTrace; any other
  // is somebody else's (a test runner's, an APM agent's) and stays.
  const current = Error.prepareStackTrace;
  if (process.sourceMapsEnabled || (current && current.name !== 'ErrorPrepareStackTrace')) return;
  Error.prepareStackTrace = (error, sites) =>
    [header(error), ...sites.map((s) => `    at ${mappedFrame(s)}`)].join('\n');
}
