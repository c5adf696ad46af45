import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { configSchema, testConfigSchema } from '../src/index.ts';

// ENVS.md is the operator's reference; it must list exactly the schema's
// variables, with the schema's defaults and descriptions.
const doc = readFileSync(fileURLToPath(new URL('../../../ENVS.md', import.meta.url)), 'utf8');

type Row = { name: string; default: string; meaning: string };

function rowsOf(section: string): Row[] {
  const start = doc.indexOf(`## ${section}`);
  expect(start, `ENVS.md has a "## ${section}" section`).toBeGreaterThanOrEqual(0);
  const rest = doc.slice(start + 1);
  const end = rest.indexOf('\n## ');
  const body = end === -1 ? rest : rest.slice(0, end);
  return body
    .split('\n')
    .filter((line) => /^\|\s*`[A-Z0-9_]+`\s*\|/.test(line))
    .map((line) => {
      const cells = line.split('|').map((c) => c.trim());
      return { name: cells[1]!.replaceAll('`', ''), default: cells[3]!, meaning: cells[4]! };
    });
}

function expectMatches(section: string, properties: Record<string, TSchema>) {
  const rows = rowsOf(section);
  expect(rows.map((r) => r.name)).toEqual(Object.keys(properties));
  for (const row of rows) {
    const prop = properties[row.name] as TSchema & { default?: unknown; description?: string };
    const documented = prop.default === undefined ? '(unset)' : `\`${String(prop.default)}\``;
    expect(row.default, `${row.name} default`).toBe(documented);
    expect(row.meaning, `${row.name} meaning`).toBe(prop.description);
  }
}

describe('ENVS.md', () => {
  it('documents exactly the server variables of the schema', () => {
    expectMatches('Servers', configSchema.properties);
  });

  it('documents exactly the test variables', () => {
    expectMatches('Tests', testConfigSchema.properties);
  });
});
