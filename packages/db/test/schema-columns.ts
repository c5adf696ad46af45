import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Reads the tables and columns schema.prisma declares, so the drift test can
// compare them with what the migrations actually built.

export type DeclaredColumn = { column: string; nullable: boolean };
export type DeclaredTable = { model: string; table: string; columns: DeclaredColumn[] };

const SCALARS = new Set([
  'String',
  'Boolean',
  'Int',
  'BigInt',
  'Float',
  'Decimal',
  'DateTime',
  'Json',
  'Bytes',
]);

export function declaredTables(): DeclaredTable[] {
  const text = readFileSync(
    fileURLToPath(new URL('../../../prisma/schema.prisma', import.meta.url)),
    'utf8',
  );
  const enums = new Set([...text.matchAll(/^enum (\w+) \{/gm)].map((m) => m[1]!));
  const tables: DeclaredTable[] = [];
  for (const match of text.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    const model = match[1]!;
    const body = match[2]!;
    const table = /@@map\("([^"]+)"\)/.exec(body)?.[1] ?? model;
    const columns: DeclaredColumn[] = [];
    for (const raw of body.split('\n')) {
      const line = raw.replace(/\/\/.*$/, '').trim();
      const field = /^(\w+)\s+(\w+)(\[\]|\?)?(.*)$/.exec(line);
      if (!field) continue;
      const [, name, type, modifier, rest] = field;
      if (!SCALARS.has(type!) && !enums.has(type!)) continue; // a relation
      columns.push({
        column: /@map\("([^"]+)"\)/.exec(rest!)?.[1] ?? name!,
        // Prisma creates list columns without NOT NULL.
        nullable: modifier === '?' || modifier === '[]',
      });
    }
    tables.push({ model, table, columns });
  }
  return tables;
}
