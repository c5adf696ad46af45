import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { APP_ACCESS } from '../src/plugins/app-access.ts';
import {
  ACTIONS,
  allows,
  ROLES,
  roleTableMarkdown,
  roleTableView,
} from '../src/routes/orgs/roles.ts';

// The role table is written once (routes/orgs/roles.ts); the guide shows it
// and must not drift from it.

/**
 * A Markdown table's rows as their trimmed cells, one row a line: the guide
 * is formatted by Biome, which pads cells and separators to a column's width.
 */
const tableCells = (markdown: string): string =>
  markdown
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) =>
      line
        .split('|')
        .map((cell) => cell.trim().replace(/^(:?)-+(:?)$/, '$1-$2'))
        .join('|'),
    )
    .join('\n');

describe('role table', () => {
  it('has a row for every access an app route may declare', () => {
    for (const access of APP_ACCESS) expect(ACTIONS).toContain(access);
  });

  it('ranks the roles: whatever a role may do, every role above it may too', () => {
    for (const action of ACTIONS) {
      const allowed = ROLES.map((role) => allows(role, action));
      // ROLES runs from owner down: once a role may not, none below may.
      const firstDenied = allowed.indexOf(false);
      if (firstDenied !== -1) expect(allowed.slice(firstDenied).every((a) => !a)).toBe(true);
      expect(allows('owner', action)).toBe(true);
    }
  });

  it('lets a viewer read and nothing else, and keeps keys, deletion and members to admins', () => {
    const view = roleTableView();
    const viewer = view.actions.filter((a) => a.allowed.viewer).map((a) => a.action);
    expect(viewer.sort()).toEqual(['app:read', 'data:read', 'org:read', 'users:read']);
    for (const action of ['keys:manage', 'app:delete', 'members:manage'] as const) {
      expect(allows('developer', action)).toBe(false);
      expect(allows('admin', action)).toBe(true);
    }
    expect(allows('admin', 'ownership:transfer')).toBe(false);
  });

  it('is the table docs/teams.md shows', () => {
    const guide = readFileSync(
      fileURLToPath(new URL('../../../docs/teams.md', import.meta.url)),
      'utf8',
    );
    expect(tableCells(guide)).toContain(tableCells(roleTableMarkdown()));
  });
});
