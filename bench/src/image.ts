// How the images start a service, read from the Dockerfile so that benches measure what
// ships: the node flags of its ENTRYPOINT and the allocator settings of its `ENV MALLOC_*`
// lines, with the service bundled as scripts/build-service.mjs bundles it, in a directory that
// holds only its dist/.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '@scalewise/testing';

export interface ImageLaunch {
  /** The node flags of the ENTRYPOINT, without `node` and the script. */
  flags: string[];
  /** The script the ENTRYPOINT runs, relative to the service's directory (`dist/main.js`). */
  script: string;
  /** `MALLOC_*` / `GLIBC_*` settings of the image's environment. */
  env: Record<string, string>;
}

/**
 * Reads the launch of the images from a Dockerfile's text.
 * @throws Error when there is no `ENTRYPOINT ["node", ..., "<script>"]` line.
 */
export function imageLaunch(dockerfile: string): ImageLaunch {
  const line = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  const argv = line ? (JSON.parse(line) as unknown) : null;
  if (
    !Array.isArray(argv) ||
    argv[0] !== 'node' ||
    argv.length < 2 ||
    !argv.every((a) => typeof a === 'string')
  ) {
    throw new Error('Dockerfile: no ENTRYPOINT ["node", ..., "<script>"] line');
  }
  const env: Record<string, string> = {};
  for (const [, name, value] of dockerfile.matchAll(/^ENV\s+((?:MALLOC|GLIBC)_[A-Z_]*)=(\S+)\s*$/gm)) {
    env[name as string] = value as string;
  }
  return { flags: argv.slice(1, -1) as string[], script: argv.at(-1) as string, env };
}

/** The repository's Dockerfile, read. */
export const repositoryImage = (): ImageLaunch =>
  imageLaunch(readFileSync(join(repositoryRoot(), 'Dockerfile'), 'utf8'));

/**
 * Bundles a service into `<dir>/<service>/dist` and says how to start it as its image does.
 * @returns the command line (after `node`) and working directory of the service.
 */
export async function bundleAsImage(
  service: string,
  dir: string,
  launch: ImageLaunch = repositoryImage(),
): Promise<{ args: string[]; cwd: string; env: Record<string, string> }> {
  const root = repositoryRoot();
  const { bundleService } = (await import(join(root, 'scripts', 'build-service.mjs'))) as {
    bundleService: (entry: string, outdir: string) => Promise<number>;
  };
  const cwd = join(dir, service);
  mkdirSync(cwd, { recursive: true });
  await bundleService(join(root, 'services', service, 'src', 'main.ts'), join(cwd, 'dist'));
  return { args: [...launch.flags, launch.script], cwd, env: launch.env };
}

/**
 * How an e2e system starts each service in a bench: bundled once into `dir` and started as its
 * image starts it (the harness's `launch`), each bundle made on first use and shared after.
 */
export function imageLauncher(
  dir: string,
): (service: string) => Promise<{ args: string[]; cwd: string; env: Record<string, string> }> {
  const bundles = new Map<string, ReturnType<typeof bundleAsImage>>();
  return (service) => {
    let b = bundles.get(service);
    if (!b) {
      b = bundleAsImage(service, dir);
      bundles.set(service, b);
    }
    return b;
  };
}
