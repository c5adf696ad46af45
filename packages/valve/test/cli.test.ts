import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, bundleCli, CLI_SOURCE, type Run, spawnNode } from './cli-runner.js';
import { SEED_CASES, SEED_PATH } from './seed-cases.js';

const dir = mkdtempSync(join(tmpdir(), 'valve-cli-'));
let bundled: Awaited<ReturnType<typeof bundleCli>> | undefined;
beforeAll(async () => {
  bundled = await bundleCli();
}, 60_000);
afterAll(() => {
  bundled?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

let fileCount = 0;
function write(content: string | object, name = `file-${++fileCount}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const run = (args: readonly string[]): Promise<Run> =>
  spawnNode([...(bundled?.entry ?? []), ...args]);

const BASE = `record:\n  "*":\n    read: true\nevent:\n  "*":\n    publish: true\nrpc:\n  "*":\n    request: true\npresence:\n  "*":\n    allow: true\n`;

// Spawning processes on a busy machine can be slow; these are not timing tests.
const SLOW = { timeout: 30_000 };

describe('valve check', SLOW, () => {
  it('accepts the seed file with exit 0 and a one-line summary', async () => {
    const result = await run(['check', SEED_PATH]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${SEED_PATH}: valid, 17 patterns, 35 rules\n`);
  });

  it('runs from source through tsx, as `pnpm valve` does, and through the bin launcher', async () => {
    const expected = { code: 0, stdout: `${SEED_PATH}: valid, 17 patterns, 35 rules\n` };
    expect(await spawnNode(['--import', 'tsx', CLI_SOURCE, 'check', SEED_PATH])).toMatchObject(
      expected,
    );
    expect(await spawnNode([BIN, 'check', SEED_PATH])).toMatchObject(expected);
  }, 30_000);

  it('prints each error as FILE:LINE:COL CODE message and exits 1', async () => {
    const rules = BASE.replace(
      '    read: true\n',
      '    read: true\n  "user/$id":\n    write: "process.exit(1)"\n    read: "data.secret"\n',
    );
    const file = write(rules, 'bad.yml');
    const result = await run(['check', file]);
    expect(result.code).toBe(1);
    expect(result.stdout.trim().split('\n')).toEqual([
      `${file}:5:13 EXPR_UNKNOWN_IDENTIFIER 'process' is not available in rules; use user, data, oldData, now, action, name, _() or the pattern's $variables`,
      `${file}:5:21 EXPR_UNKNOWN_FUNCTION function exit is not supported; rules may call _() and the methods startsWith, endsWith, includes, indexOf, match, toUpperCase, toLowerCase, trim`,
      `${file}:6:12 EXPR_DATA_NOT_AVAILABLE rule read for record does not support data`,
    ]);
  });

  it('reports YAML syntax errors with their position', async () => {
    const file = write('record:\n  "*": {read: true\n', 'broken.yml');
    const result = await run(['check', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^${file}:\\d+:\\d+ FILE_SYNTAX `));
  });

  it('exits 2 for a missing file, a missing argument and an unknown command', async () => {
    const missing = await run(['check', join(dir, 'nope.yml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read permissions file');
    expect((await run(['check'])).code).toBe(2);
    expect((await run(['lint', SEED_PATH])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });
});

describe('valve simulate', SLOW, () => {
  const request = {
    section: 'record',
    action: 'write',
    name: 'only-allows-purchase-of-products-in-stock/p1',
    user: { id: 'abc', isAuthenticated: true, data: {} },
    data: { itemId: 'teapot' },
  };

  it('prints one JSON object with the verdict, the rule and a trace, and exits 0', async () => {
    const records = write({ 'item/teapot': { stock: 2 } });
    const result = await run([
      'simulate',
      '--rules',
      SEED_PATH,
      '--request',
      write(request),
      '--records',
      records,
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const output = JSON.parse(result.stdout);
    expect(Object.keys(output)).toEqual(['allowed', 'verdict', 'rules', 'trace']);
    expect(output).toMatchObject({
      allowed: true,
      verdict: 'allowed',
      rules: [
        {
          pattern: 'only-allows-purchase-of-products-in-stock/$purchaseId',
          type: 'write',
          result: true,
        },
      ],
    });
    expect(output.trace).toContainEqual({ kind: 'bind', variable: '$purchaseId', value: 'p1' });
    expect(output.trace).toContainEqual({
      kind: 'load',
      record: 'item/teapot',
      round: 1,
      found: true,
    });
    expect(output.trace).toContainEqual(
      expect.objectContaining({
        kind: 'value',
        expression: "_('item/' + data.itemId ).stock",
        value: 2,
      }),
    );
  });

  it('includes the error, with its code, when the verdict is error', async () => {
    const result = await run(['simulate', '--rules', SEED_PATH, '--request', write(request)]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({
      allowed: false,
      verdict: 'error',
      error: { code: 'RUNTIME_TYPE_ERROR' },
    });
    expect(output.error.message).toContain("cannot read 'stock' of null");
  });

  it('treats an omitted oldData as a missing record', async () => {
    const getRecord = {
      ...request,
      action: 'SUBSCRIBECREATEANDREAD',
      name: 'public-read-private-write/abc',
    };
    const output = JSON.parse(
      (await run(['simulate', '--rules', SEED_PATH, '--request', write(getRecord)])).stdout,
    );
    expect(output.rules.map((r: { type: string }) => r.type)).toEqual(['create', 'read']);
  });

  it('exits 2 for bad arguments and bad files', async () => {
    const good = write(request);
    const cases: [string[], string][] = [
      [['simulate', '--request', good], 'needs --rules'],
      [['simulate', '--rules', SEED_PATH], 'needs --rules'],
      [
        ['simulate', '--rules', SEED_PATH, '--request', good, '--verbose'],
        'unknown argument --verbose',
      ],
      [['simulate', '--rules', SEED_PATH, '--request', write('{nope')], 'is not valid JSON'],
      [['simulate', '--rules', SEED_PATH, '--request', write('[]')], 'must be a JSON object'],
      [
        ['simulate', '--rules', SEED_PATH, '--request', write({ ...request, action: 'FLY' })],
        'unknown action FLY',
      ],
      [
        ['simulate', '--rules', SEED_PATH, '--request', good, '--records', write('[1]')],
        'must map record names',
      ],
      [
        ['simulate', '--rules', write('record: {}', 'empty.yml'), '--request', good],
        'not a valid permissions file',
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![1]).toBe(2);
      expect(result.stderr).toContain(cases[i]![1]);
    });
  });
});

describe('valve simulate on every seed rule', SLOW, () => {
  it.concurrent.each(SEED_CASES.map((c) => [c.rule, c.title, c] as const))(
    '%s: %s',
    async (_rule, _title, seedCase) => {
      const args = ['simulate', '--rules', SEED_PATH, '--request', write(seedCase.request)];
      if (seedCase.records !== undefined) args.push('--records', write(seedCase.records));
      const result = await run(args);
      expect(result.code).toBe(0);
      const output = JSON.parse(result.stdout);
      expect(output.verdict).toBe(seedCase.verdict);
      expect(output.allowed).toBe(seedCase.verdict === 'allowed');
    },
  );
});
