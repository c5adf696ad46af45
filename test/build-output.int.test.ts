import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadTestConfig } from '@hubstream/config';
import { describe, expect, it } from 'vitest';
import { ROOT } from './deployment-files.ts';

// What scripts/build.mjs does to the built output for the servers' start
// time and memory (issues 15 and 17), checked on the output the integration
// tests' global setup has just built.

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The relative modules a built file imports, statically or dynamically, as paths from ROOT. */
function importsOf(file: string): string[] {
  const code = read(file);
  const specifiers = [...code.matchAll(/(?:from|import\()\s*["'](\.\.?\/[^"']+)["']/g)];
  return specifiers.map((m) => path.join(path.dirname(file), m[1]!));
}

/** A built entry point and every built module it reaches through relative imports. */
function reachedFrom(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const next of importsOf(file)) visit(next);
  };
  visit(entry);
  return [...seen];
}

describe('the built output', () => {
  it('is ASCII only, so V8 holds each module source in one byte per character', () => {
    const files = [
      'apps/realtime/dist/main.js',
      'apps/standalone/dist/main.js',
      'apps/standalone/dist/index.js',
      'packages/cluster/dist/vendor/ioredis.cjs',
      'packages/cluster/dist/vendor/bullmq.cjs',
      ...['cluster', 'config', 'db', 'jobs', 'records', 'service'].flatMap((name) =>
        reachedFrom(`packages/${name}/dist/index.js`),
      ),
    ];
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const match = /[^\t-~]/.exec(read(file));
      expect(match && { file, at: match.index }).toBeNull();
    }
  });

  it("loads Prisma's query compiler from a .wasm file next to the chunks, not a base64 module", () => {
    const modules = reachedFrom('packages/db/dist/index.js');
    const client = modules.find((file) => read(file).includes('getQueryCompilerWasmModule'));
    expect(client).toBeDefined();
    expect(read(client!)).not.toContain('wasm-base64.mjs');
    const loader = modules.find((file) => /wasm-base64-\w+\.js$/.test(file));
    expect(loader).toBeDefined();
    const wasmFile = /new URL\("\.\/([\w.]+\.wasm)"/.exec(read(loader!))?.[1];
    expect(wasmFile).toBeDefined();
    const wasm = path.join(ROOT, path.dirname(loader!), wasmFile!);
    expect(existsSync(wasm)).toBe(true);
    // WebAssembly's magic number: the bytes, not their base64.
    expect(readFileSync(wasm).subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
  });

  it("bundles pg without its Cloudflare probe, which loads Node's fetch for nothing", () => {
    const pg = reachedFrom('packages/db/dist/index.js').find((file) =>
      read(file).includes('function isCloudflareRuntime'),
    );
    expect(pg).toBeDefined();
    expect(read(pg!)).not.toMatch(/typeof Response === ["']function["']/);
  });

  it("shares one ioredis between the Redis bundles, and loads BullMQ at a process's first job", async () => {
    const bullmq = read('packages/cluster/dist/vendor/bullmq.cjs');
    expect(bullmq).toContain('require("./ioredis.cjs")');
    // ioredis' own client class is in its bundle only.
    const marker = 'Redis.Cluster = ';
    expect(read('packages/cluster/dist/vendor/ioredis.cjs')).toContain(marker);
    expect(bullmq).not.toContain(marker);

    // An enqueue-only queue (a realtime node's) is ready without BullMQ,
    // which it loads at its first job.
    const script = `
      import { createRequire } from 'node:module';
      import { Type } from 'typebox';
      import { BullMqJobQueue } from './dist/index.js';
      const loaded = (name) => Object.keys(createRequire(import.meta.url).cache)
        .some((file) => file.endsWith('/vendor/' + name));
      const definitions = [{ name: 'noop', payload: Type.Object({}), attempts: 1, backoffMs: 10, handle: async () => {} }];
      const queue = new BullMqJobQueue({ url: process.env.URL, definitions, process: false,
        logger: console, prefix: process.env.PREFIX });
      await queue.ready();
      const atReady = { ioredis: loaded('ioredis.cjs'), bullmq: loaded('bullmq.cjs') };
      await queue.enqueue('noop', {});
      const waiting = await queue.depth();
      console.log(JSON.stringify({ atReady, afterJob: loaded('bullmq.cjs'), waiting }));
      await queue.close();
    `;
    const prefix = `test:build-output:${randomBytes(4).toString('hex')}:`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      {
        cwd: path.join(ROOT, 'packages/cluster'),
        env: { ...process.env, URL: loadTestConfig().TEST_REDIS_URL, PREFIX: prefix },
      },
    );
    expect(JSON.parse(stdout.trim().split('\n').at(-1)!)).toEqual({
      atReady: { ioredis: true, bullmq: false },
      afterJob: true,
      waiting: 1,
    });
  });
});
