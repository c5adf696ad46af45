import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeFlags, STANDALONE_MALLOC_ENV } from './deployment-files.ts';

// `pnpm start` (the root's and apps/standalone's) runs the standalone
// process with the node flags and malloc variables the deployment files
// share (deployment-files.ts), which bench:idle-rss and the process tests
// use too.

const startOf = (file: string) =>
  (
    JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8')) as {
      scripts: Record<string, string>;
    }
  ).scripts.start;

describe('pnpm start', () => {
  const env = Object.entries(STANDALONE_MALLOC_ENV).map(([name, value]) => `${name}=${value}`);
  it.each([
    ['package.json', 'apps/standalone/dist/main.js'],
    ['apps/standalone/package.json', 'dist/main.js'],
  ])('%s execs node with the standalone flags and malloc variables', (file, entry) => {
    const command = startOf(file)?.split(' && ').at(-1);
    expect(command).toBe([...env, 'exec', 'node', ...nodeFlags('standalone'), entry].join(' '));
  });
});
