import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// ws masks and unmasks every frame a client sends; in JavaScript that is a
// loop over each byte (~3 ms of the event loop for a 640 KB frame, every
// other client waiting: bench:attacks huge-subscribe). bufferutil does it
// natively. It loads from the prebuilt binaries in its registry package
// (pnpm runs no install script of it: pnpm-workspace.yaml), and ws finds it
// by a plain require, from its own directory when run from sources and from
// dist/ in a bundled program, which keeps ws inside but bufferutil outside.

const here = path.dirname(new URL(import.meta.url).pathname);
const fromRealtime = createRequire(path.join(here, '../package.json'));

/** Whether `require` (from `dir`) loads bufferutil's native binding, not its JavaScript fallback. */
function loadsNative(dir: string): boolean {
  const require = createRequire(path.join(dir, 'noop.js'));
  const resolved = require.resolve('bufferutil');
  require(resolved);
  const loaded = Object.keys(require.cache).filter((file) =>
    file.startsWith(path.dirname(resolved)),
  );
  return loaded.length > 0 && !loaded.some((file) => file.endsWith('fallback.js'));
}

describe('ws with bufferutil', () => {
  it("resolves bufferutil's native binding from ws's directory and from the bundles' dist/", () => {
    const ws = path.dirname(fromRealtime.resolve('ws'));
    expect(loadsNative(ws)).toBe(true);
    expect(loadsNative(path.join(here, '../dist'))).toBe(true);
    expect(loadsNative(path.join(here, '../../standalone/dist'))).toBe(true);
  });

  it("is what ws's unmask calls", () => {
    const ws = path.dirname(fromRealtime.resolve('ws'));
    const bufferUtil = fromRealtime(path.join(ws, 'lib/buffer-util.js')) as {
      unmask: (buffer: Buffer, mask: Buffer) => void;
    };
    // ws's own loop is the fallback when bufferutil does not load.
    expect(bufferUtil.unmask.toString()).toContain('bufferUtil.unmask');
    const data = Buffer.from('hello, world, hello, world, hello, world');
    const masked = Buffer.from(data);
    const mask = Buffer.from([1, 2, 3, 4]);
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i & 3]!;
    bufferUtil.unmask(masked, mask);
    expect(masked.equals(data)).toBe(true);
  });
});
