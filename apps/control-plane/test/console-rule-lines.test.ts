import { describe, expect, it } from 'vitest';
import { ruleLine } from '../src/routes/console/rule-lines.ts';

// The live console names the line of the rule that denied an action, found
// in the app's rules file from the rule's section, pattern and type.

const YAML = `# comment: event:
record:
  "*":
    read: true
event:
  "*":
    publish: false
    subscribe: true
  'chat/*':
    subscribe: true
    publish: "user.isAuthenticated"
  plain/$id:
    publish: true
rpc:
  "*":
    request: true
`;

const JSON_RULES = `{
  "event": {
    "*": {
      "publish": false
    },
    "chat/*": {
      "subscribe": true,
      "publish": true
    }
  }
}`;

describe('ruleLine', () => {
  it('finds the rule under its pattern under its section, whatever the quoting', () => {
    expect(ruleLine(YAML, 'event', '*', 'publish')).toBe(7);
    expect(ruleLine(YAML, 'event', '*', 'subscribe')).toBe(8);
    expect(ruleLine(YAML, 'event', 'chat/*', 'publish')).toBe(11);
    expect(ruleLine(YAML, 'event', 'plain/$id', 'publish')).toBe(13);
    expect(ruleLine(YAML, 'rpc', '*', 'request')).toBe(16);
    expect(ruleLine(YAML, 'record', '*', 'read')).toBe(4);
  });

  it("stays inside the pattern: a type the pattern lacks is its pattern line, not the next one's", () => {
    // "chat/*" has no listen rule; the next pattern's lines are not taken.
    expect(ruleLine(YAML, 'event', 'chat/*', 'listen')).toBe(9);
  });

  it('knows no line for a missing section or pattern, or a denial by default', () => {
    expect(ruleLine(YAML, 'presence', '*', 'allow')).toBeNull();
    expect(ruleLine(YAML, 'event', 'nope/*', 'publish')).toBeNull();
    expect(ruleLine(YAML, 'event', null, 'publish')).toBeNull();
    expect(ruleLine('', 'event', '*', 'publish')).toBeNull();
  });

  it('reads JSON rules laid out one key a line', () => {
    expect(ruleLine(JSON_RULES, 'event', '*', 'publish')).toBe(4);
    expect(ruleLine(JSON_RULES, 'event', 'chat/*', 'publish')).toBe(8);
  });
});
