import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check } from '@hubstream/valve';
import { describe, expect, it } from 'vitest';
import { actionLabel, auditDetails, auditQuery } from '../src/lib/audit.ts';
import { guideSummary, guideTitle, renderGuide, slugify } from '../src/lib/guides.ts';
import { LIMIT_FIELDS, limitInputProblem, limitValue } from '../src/lib/limits.ts';

// The Limits, Audit and Guides pages' pure parts.

describe('guides', () => {
  it('gives headings ids that #links can name, and keyboard-reachable scrolling boxes', () => {
    expect(slugify('4. Write your rules')).toBe('4-write-your-rules');
    expect(slugify('Auth strategies & the `webhook`')).toBe('auth-strategies-the-webhook');
    const html = renderGuide(
      '# Title\n\n## Users in rules\n\n```js\nx\n```\n\n| a |\n| - |\n| 1 |\n',
    );
    expect(html).toContain('<h1 id="title">Title</h1>');
    expect(html).toContain('<h2 id="users-in-rules">Users in rules</h2>');
    expect(html).toContain('<pre tabindex="0">');
    expect(html).toMatch(/<div class="table-scroll" tabindex="0"><table>[\s\S]*<\/table><\/div>/);
  });

  it('names and summarises every guide in docs/, whose every heading id is unique', async () => {
    const dir = fileURLToPath(new URL('../../../docs', import.meta.url));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.md'));
    expect(files.sort()).toEqual([
      'auth.md',
      'data-api.md',
      'getting-started.md',
      'teams.md',
      'valve.md',
    ]);
    for (const file of files) {
      const text = await readFile(path.join(dir, file), 'utf8');
      expect(guideTitle(text, file), file).not.toBe(file);
      expect(guideSummary(text).length, file).toBeGreaterThan(40);
      const ids = [...renderGuide(text).matchAll(/<h\d id="([^"]*)"/g)].map((m) => m[1]);
      expect(ids.length, file).toBeGreaterThan(3);
      expect(new Set(ids).size, `${file}: ${ids.join(' ')}`).toBe(ids.length);
      expect(ids, file).not.toContain('');
    }
  });
});

/**
 * A guide's Valve example as a whole file: the sections and "*" patterns it
 * leaves out (to stay short) are added, each with one rule.
 */
function asWholeFile(snippet: string): string {
  const sections = { record: 'read', event: 'publish', rpc: 'request', presence: 'allow' };
  const bodies = new Map<string, string[]>();
  let current: string | null = null;
  for (const line of snippet.split('\n')) {
    const header = /^(record|event|rpc|presence):\s*$/.exec(line);
    if (header?.[1]) {
      current = header[1];
      bodies.set(current, []);
    } else if (current) bodies.get(current)?.push(line);
  }
  return Object.entries(sections)
    .map(([section, rule]) => {
      const body = bodies.get(section) ?? [];
      const star = body.some((line) => line.startsWith('  "*":'));
      return [`${section}:`, ...(star ? [] : ['  "*":', `    ${rule}: false`]), ...body].join('\n');
    })
    .join('\n');
}

describe('the guides’ Valve examples', () => {
  it('each passes the checker the Permissions page uses', async () => {
    const dir = fileURLToPath(new URL('../../../docs', import.meta.url));
    let examples = 0;
    for (const file of ['getting-started.md', 'valve.md', 'auth.md']) {
      const text = await readFile(path.join(dir, file), 'utf8');
      for (const [, yaml] of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
        examples += 1;
        const report = check(asWholeFile(yaml ?? ''));
        expect(report.errors, `${file}:\n${yaml}`).toEqual([]);
      }
    }
    expect(examples).toBeGreaterThanOrEqual(8);
  });
});

describe('limits', () => {
  it('takes empty (the default) or a whole number from 1 to the ceiling', () => {
    expect(limitInputProblem('', 100)).toBeNull();
    expect(limitInputProblem(' 42 ', 100)).toBeNull();
    expect(limitInputProblem('1_000', 1000)).toBeNull();
    expect(limitValue('1,000')).toBe(1000);
    expect(limitValue('  ')).toBeNull();
    for (const bad of ['0', '101', '1.5', '-3', 'ten', '1e3'])
      expect(limitInputProblem(bad, 100), bad).toMatch(/^Enter a whole number from 1 to 100/);
  });

  it('labels every limit the API has, once', () => {
    expect(new Set(LIMIT_FIELDS.map((f) => f.name)).size).toBe(9);
    expect(new Set(LIMIT_FIELDS.map((f) => f.label)).size).toBe(9);
  });
});

describe('audit', () => {
  it('names actions, and keeps the name of one it does not know', () => {
    expect(actionLabel('limits.updated')).toBe('Limits changed');
    expect(actionLabel('permissions.activated')).toBe('Rules version activated');
    expect(actionLabel('something.new')).toBe('something.new');
  });

  it('says what changed in one bounded line', () => {
    expect(
      auditDetails({
        action: 'limits.updated',
        target: null,
        details: { changes: { maxConnections: 3, maxNamesPerMessage: null } },
      }),
    ).toBe('maxConnections → 3, maxNamesPerMessage → default');
    expect(
      auditDetails({ action: 'app.renamed', target: 'a1', details: { from: 'A', to: 'B' } }),
    ).toBe('“A” → “B”');
    expect(
      auditDetails({
        action: 'auth.updated',
        target: null,
        details: { fields: ['open', 'email'] },
      }),
    ).toBe('changed open, email');
    const long = auditDetails({ action: 'x.y', target: 't', details: { blob: 'z'.repeat(1000) } });
    expect(long.length).toBe(240);
    expect(long.endsWith('…')).toBe(true);
  });

  it('sends the filters, with local times as ISO 8601', () => {
    const query = new URLSearchParams(
      auditQuery({
        actor: 'ada',
        action: 'limits',
        since: '2026-12-06T10:00',
        until: '',
        before: '99',
        limit: 25,
      }),
    );
    expect(Object.fromEntries(query)).toEqual({
      limit: '25',
      before: '99',
      actor: 'ada',
      action: 'limits',
      since: new Date('2026-12-06T10:00').toISOString(),
    });
  });
});
