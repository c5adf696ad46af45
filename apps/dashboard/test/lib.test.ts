import { check } from '@hubstream/valve';
import { describe, expect, it } from 'vitest';
import type { AuthSettings } from '../src/api.ts';
import { diffLines } from '../src/lib/diff.ts';
import {
  checkWebhookUrl,
  parseHeaders,
  parseJsonObject,
  parseJsonValue,
  parseStatusCodes,
} from '../src/lib/forms.ts';
import { nodeSnippet } from '../src/lib/snippet.ts';
import { perMinute } from '../src/lib/usage.ts';
import { rangeOf } from '../src/lib/valve-lint.ts';
import { match } from '../src/router.tsx';

describe('diffLines', () => {
  it('keeps common lines and marks what was removed and added', () => {
    expect(diffLines('a\nb\nc', 'a\nx\nc\nd')).toEqual([
      { kind: 'same', text: 'a', old: 1, new: 1 },
      { kind: 'removed', text: 'b', old: 2 },
      { kind: 'added', text: 'x', new: 2 },
      { kind: 'same', text: 'c', old: 3, new: 3 },
      { kind: 'added', text: 'd', new: 4 },
    ]);
  });
  it('finds no change between equal texts', () => {
    expect(diffLines('a\nb', 'a\nb').every((l) => l.kind === 'same')).toBe(true);
  });
});

describe('form parsing', () => {
  it('reads JSON objects and refuses other JSON', () => {
    expect(parseJsonObject('')).toEqual({ ok: true, value: {} });
    expect(parseJsonObject('{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonObject('[1]')).toMatchObject({ ok: false });
    expect(parseJsonObject('{"a":')).toMatchObject({ ok: false, error: /Not valid JSON/ });
    expect(parseJsonValue('')).toEqual({ ok: true, value: undefined });
    expect(parseJsonValue('null')).toEqual({ ok: true, value: null });
  });
  it('reads status codes', () => {
    expect(parseStatusCodes('200, 201 200', { required: true })).toEqual({
      ok: true,
      value: [200, 201],
    });
    expect(parseStatusCodes('', { required: true })).toMatchObject({ ok: false });
    expect(parseStatusCodes('', { required: false })).toEqual({ ok: true, value: [] });
    expect(parseStatusCodes('99', { required: false })).toMatchObject({ ok: false });
  });
  it('checks webhook URLs and header values', () => {
    expect(checkWebhookUrl('https://example.com/auth')).toBeUndefined();
    expect(checkWebhookUrl('')).toBe('A webhook needs a URL.');
    expect(checkWebhookUrl('ftp://example.com')).toMatch(/http/);
    expect(checkWebhookUrl('example.com')).toMatch(/full URL/);
    expect(parseHeaders('{"x-a": "1"}')).toEqual({ ok: true, value: { 'x-a': '1' } });
    expect(parseHeaders('{"x-a": 1}')).toMatchObject({ ok: false });
  });
});

describe('nodeSnippet', () => {
  const auth = (open: boolean, email: boolean, webhook: boolean) =>
    ({
      order: ['open', 'email', 'webhook'],
      open: { enabled: open },
      email: { enabled: email },
      webhook: { enabled: webhook },
    }) as AuthSettings;
  const snippet = (url: string, settings: AuthSettings) =>
    nodeSnippet({
      url,
      auth: settings,
      rules: 'development',
      caFile: null,
      caUrl: null,
      bundleUrl: 'http://x/sdk.js',
    });
  it('connects to the URL and logs in with an enabled strategy', () => {
    const code = snippet('wss://hub.example/app1', auth(false, true, true));
    expect(code).toContain("new DeepstreamClient('wss://hub.example/app1')");
    expect(code).toContain("type: 'email'");
    expect(code).not.toContain('username');
  });
  it('says when no strategy is on', () => {
    expect(snippet('ws://x/a', auth(false, false, false))).toContain('every login is refused');
  });
});

describe('rangeOf (checker errors to editor ranges)', () => {
  it('underlines the characters the checker names', () => {
    const text = 'record:\n  "*":\n    write: "data.x ==="\n';
    const report = check(text);
    const error = report.errors.find((e) => e.code === 'EXPR_SYNTAX');
    expect(error).toBeDefined();
    const range = rangeOf(text, error!);
    expect(range.to).toBeGreaterThan(range.from);
    expect(text.slice(0, range.from).split('\n')).toHaveLength(3);
  });
  it('never returns an empty range, even at the end of the text', () => {
    const text = 'ab';
    const at = { line: 1, column: 3, endLine: 1, endColumn: 3 };
    const range = rangeOf(text, { ...at, code: 'FILE_SYNTAX', message: '', path: [] });
    expect(range).toEqual({ from: 1, to: 2 });
  });
});

describe('perMinute', () => {
  it('fills minutes without a sample with zeros', () => {
    const points = perMinute(
      [
        {
          minute: '2026-01-01T00:01:00.000Z',
          peakConnections: 2,
          messagesIn: 5,
          messagesOut: 6,
          denied: 0,
          rateLimited: 0,
        },
      ],
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:02:30.000Z',
    );
    expect(points.map((p) => p.peakConnections)).toEqual([0, 2, 0]);
  });
});

describe('match', () => {
  it('matches paths with parameters', () => {
    expect(match('/apps/:id/:tab', '/apps/a1/users')).toEqual({ id: 'a1', tab: 'users' });
    expect(match('/apps/:id', '/apps/a1/')).toEqual({ id: 'a1' });
    expect(match('/apps/:id', '/apps')).toBeNull();
  });
});
