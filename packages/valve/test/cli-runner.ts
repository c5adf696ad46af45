import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Spawns the real CLI. Starting it through tsx costs almost a second of CPU,
// so the many per-rule runs use the same source bundled once with the esbuild
// that tsx itself runs on; a few tests still go through tsx and the bin to
// prove those entry points.

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CLI_SOURCE = join(ROOT, 'packages/valve/src/cli.ts');
export const BIN = join(ROOT, 'packages/valve/bin/valve.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function spawnNode(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface EsbuildLike {
  build(options: Record<string, unknown>): Promise<unknown>;
}

/** Bundles cli.ts into a temp dir; returns the node arguments to run it, and a cleanup. */
export async function bundleCli(): Promise<{ entry: string[]; cleanup: () => void }> {
  const viaTsx = { entry: ['--import', 'tsx', CLI_SOURCE], cleanup: () => {} };
  let esbuild: EsbuildLike;
  try {
    const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx'));
    esbuild = fromTsx('esbuild') as EsbuildLike;
  } catch {
    return viaTsx;
  }
  const dir = mkdtempSync(join(tmpdir(), 'valve-cli-bundle-'));
  const outfile = join(dir, 'valve-cli.mjs');
  await esbuild.build({
    entryPoints: [CLI_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'silent',
    // yaml ships CommonJS; its require() calls need a require in the ESM bundle.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return { entry: [outfile], cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
