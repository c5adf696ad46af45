import { describe, expect, it } from 'vitest';
import type { AuthSettings, Strategy } from '../src/api.ts';
import {
  browserSnippet,
  bundlerSnippet,
  clientSnippets,
  js,
  nodeSnippet,
  type RulesKind,
  type SnippetContext,
  v2NodeSnippet,
} from '../src/lib/snippet.ts';

// The app page's client code for every combination of auth settings and
// rules: the login it picks, the names it uses, what it says in comments.
// (apps/dashboard/test/first-run.int.test.ts runs the Node one for real.)

const auth = (enabled: Strategy[], order: Strategy[] = ['open', 'email', 'webhook']) =>
  ({
    order,
    open: { enabled: enabled.includes('open') },
    email: { enabled: enabled.includes('email') },
    webhook: { enabled: enabled.includes('webhook') },
  }) as AuthSettings;

const context = (over: Partial<SnippetContext> = {}): SnippetContext => ({
  url: 'wss://localhost:6020/app1',
  auth: auth(['open']),
  rules: 'development',
  caFile: null,
  caUrl: null,
  bundleUrl: 'https://localhost:3000/sdk/deepstream-client.min.js',
  ...over,
});

describe('client snippets', () => {
  it('development with open login: logs in as anyone, emits and writes hello/world', () => {
    const code = nodeSnippet(context());
    expect(code).toContain("await client.login({ type: 'open', username: 'ada' })");
    expect(code).toContain("client.event.emit('greetings'");
    expect(code).toContain("await client.record.setDataWithAck('hello/world'");
    expect(code).toContain('process.exit(1)');
    expect(code).toContain("new DeepstreamClient('wss://localhost:6020/app1')");
    // The event goes first: its denial would arrive before the write's acknowledgement.
    expect(code.indexOf('event.emit')).toBeLessThan(code.indexOf('setDataWithAck'));
  });

  it('passes the local CA to the Node client when the server uses one', () => {
    const code = nodeSnippet(context({ caFile: "/home/o'neil/.hubstream/tls/ca.pem" }));
    expect(code).toContain("const ca = readFileSync('/home/o\\'neil/.hubstream/tls/ca.pem');");
    expect(code).toContain(
      "new DeepstreamClient('wss://localhost:6020/app1', { socketOptions: { ca } })",
    );
    expect(code).toContain('NODE_EXTRA_CA_CERTS=');
    expect(nodeSnippet(context())).not.toContain('readFileSync');
  });

  it('signed-in rules: logs in with email even when open comes first, writes under users/<id>/', () => {
    const code = nodeSnippet(context({ rules: 'signed-in', auth: auth(['open', 'email']) }));
    expect(code).toContain("type: 'email'");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the generated code
    expect(code).toContain('setDataWithAck(`users/${user.id}/hello`');
    const webhook = nodeSnippet(context({ rules: 'signed-in', auth: auth(['webhook', 'open']) }));
    expect(webhook).toContain("type: 'webhook'");
  });

  it('signed-in rules with only open login: says what to switch on', () => {
    const code = nodeSnippet(context({ rules: 'signed-in' }));
    expect(code).toContain("type: 'open'");
    expect(code).toContain('switch on email login');
  });

  it.each<[RulesKind, string]>([
    ['none', 'no permissions yet'],
    ['locked', 'The locked rules deny everything'],
    ['custom', 'Your rules must allow record create and write on "hello/world"'],
  ])('%s rules: says what the rules must allow', (rules, text) => {
    expect(nodeSnippet(context({ rules }))).toContain(text);
  });

  it('follows the auth order when open login is off', () => {
    expect(nodeSnippet(context({ auth: auth(['webhook', 'email']) }))).toContain("type: 'email'");
    expect(
      nodeSnippet(context({ auth: auth(['webhook', 'email'], ['webhook', 'email', 'open']) })),
    ).toContain("type: 'webhook'");
  });

  it('browser: a script tag with the bundle served by us, then the same steps', () => {
    const code = browserSnippet(context({ caFile: '/x/ca.pem' }));
    expect(code).toContain(
      '<script src="https://localhost:3000/sdk/deepstream-client.min.js"></script>',
    );
    expect(code).toContain('const { DeepstreamClient } = window.DeepstreamClient;');
    expect(code).toContain('trust this server');
    expect(code).not.toContain('process.exit');
    expect(code).toContain("  await client.record.setDataWithAck('hello/world'");
  });

  it('bundler: an import of the package', () => {
    const code = bundlerSnippet(context());
    expect(code).toMatch(/^\/\/ With a bundler/);
    expect(code).toContain("import { DeepstreamClient } from '@deepstream/client';");
    expect(code).not.toContain('readFileSync');
  });

  it('deepstream.io-client-js 2.x: the same URL, login, event and write, in its callback form', () => {
    const code = v2NodeSnippet(context());
    expect(code).toContain("const deepstream = require('deepstream.io-client-js');");
    expect(code).toContain("const client = deepstream('wss://localhost:6020/app1');");
    expect(code).toContain("client.login({ type: 'open', username: 'ada' }, (success, user) => {");
    expect(code).toContain("client.event.emit('greetings'");
    expect(code).toContain("client.record.setData('hello/world', { text: ");
    expect(code).toContain('?apiKey=APP_ID');
    expect(code.indexOf('event.emit')).toBeLessThan(code.indexOf('record.setData'));
    // The same strategy and names as the v7 code, whatever the settings and rules.
    const signedIn = context({ rules: 'signed-in', auth: auth(['open', 'email']) });
    expect(v2NodeSnippet(signedIn)).toContain(
      "client.login({ type: 'email', email: 'user@example.com', password: 'their password' }, (success, user) => {",
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the generated code
    expect(v2NodeSnippet(signedIn)).toContain('client.record.setData(`users/${user.id}/hello`');
    const webhook = v2NodeSnippet(context({ auth: auth(['webhook']) }));
    expect(webhook).toContain(
      "client.login({ type: 'webhook', token: 'what your webhook expects' }, ",
    );
    expect(v2NodeSnippet(context({ auth: auth([]) }))).toContain('client.login({}, ');
    expect(v2NodeSnippet(context({ rules: 'locked' }))).toContain(
      'The locked rules deny everything',
    );
    // The 2.x client takes the CA through nodeSocketOptions.
    const withCa = v2NodeSnippet(context({ caFile: '/x/ca.pem' }));
    expect(withCa).toContain("const ca = readFileSync('/x/ca.pem');");
    expect(withCa).toContain(
      "deepstream('wss://localhost:6020/app1', { nodeSocketOptions: { ca } })",
    );
    expect(code).not.toContain('readFileSync');
  });

  it('gives all four at once, and quotes strings safely', () => {
    expect(Object.keys(clientSnippets(context()))).toEqual(['node', 'browser', 'bundler', 'v2']);
    expect(js("a'b\\c\nd")).toBe("'a\\'b\\\\c\\nd'");
  });

  it('compiles as JavaScript (module code, top-level await)', async () => {
    // The AsyncFunction constructor parses without running it.
    const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => unknown;
    for (const rules of ['development', 'signed-in', 'none'] as const) {
      const code = nodeSnippet(context({ rules, caFile: '/x/ca.pem' })).replace(
        /^import .*$/gm,
        '',
      );
      expect(() => new AsyncFunction(code)).not.toThrow();
      const bundler = bundlerSnippet(context({ rules })).replace(/^import .*$/gm, '');
      expect(() => new AsyncFunction(bundler)).not.toThrow();
      // CommonJS: a plain function body.
      for (const auth0 of [auth(['open']), auth(['email']), auth(['webhook']), auth([])]) {
        const v2 = v2NodeSnippet(context({ rules, auth: auth0, caFile: '/x/ca.pem' }));
        expect(() => new Function('require', v2)).not.toThrow();
      }
    }
  });
});
