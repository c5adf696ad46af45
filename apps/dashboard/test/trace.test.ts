import { compilePermissions, createUser } from '@hubstream/valve';
import { describe, expect, it } from 'vitest';
import { traceLines } from '../src/lib/trace.ts';

const RULES = [
  'record:',
  '  "*":',
  '    create: true',
  '    read: true',
  '    write: true',
  '    delete: true',
  '    listen: true',
  '    notify: true',
  'event:',
  '  "*":',
  '    publish: true',
  '    subscribe: true',
  '    listen: true',
  'rpc:',
  '  "*":',
  '    provide: true',
  '    request: true',
  'presence:',
  '  "*":',
  '    allow: true',
  '',
].join('\n');

describe('traceLines', () => {
  it('names the action a rule sees instead of its protocol number', async () => {
    const compiled = compilePermissions(RULES);
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const result = await compiled.permissions.evaluate(
      {
        section: 'record',
        action: 'write',
        name: 'notes/today',
        user: createUser({ id: 'u1', isAuthenticated: true, serverData: {} }),
        data: { text: 'hello' },
      },
      { loadRecord: () => null },
      { trace: true },
    );
    const lines = traceLines(result.trace ?? []);
    const bound = lines.find((line) => line.startsWith('action = '));
    expect(bound).toMatch(/^action = [A-Z_]+ \(protocol action \d+\)$/);
    expect(lines.some((line) => /^action = \d+$/.test(line))).toBe(false);
  });
});
