import type { AuthSettings, Strategy } from '../api.ts';

// The client code the app page shows: it must work as copied for the app's
// current auth settings and rules. It connects (trusting the local CA when
// the server runs on one), logs in with a strategy that is switched on, sends
// one event and writes one record that the active rules allow, and says in a
// comment what to change when the rules or the settings cannot allow it.

/** Which rules are active: none, a starter template, or rules written by hand. */
export type RulesKind = 'none' | 'development' | 'signed-in' | 'locked' | 'custom';

export type SnippetContext = {
  /** The app's realtime URL. */
  url: string;
  auth: AuthSettings | null;
  rules: RulesKind;
  /** The local CA's file on the server's machine, when the server uses one. */
  caFile: string | null;
  /** Where the CA certificate can be downloaded, when the server uses one. */
  caUrl: string | null;
  /** The client's browser bundle, served by this Hubstream. */
  bundleUrl: string;
};

export type Snippets = { node: string; browser: string; bundler: string; v2: string };

/** A JavaScript string literal. */
export const js = (text: string) => `'${text.replace(/[\\']/g, '\\$&').replace(/\n/g, '\\n')}'`;

type Login = { strategy: Strategy | null; code: string; comment: string[] };

function chooseLogin(auth: AuthSettings | null, rules: RulesKind): Login {
  const order: Strategy[] = auth?.order?.length ? auth.order : ['open', 'email', 'webhook'];
  const enabled = auth ? order.filter((s) => auth[s].enabled) : ['open' as const];
  const authenticated = enabled.filter((s) => s !== 'open');
  // Under the signed-in rules only an authenticated login can do anything;
  // otherwise open login works as copied, with no account to make first.
  const strategy =
    rules === 'signed-in'
      ? (authenticated[0] ?? enabled[0] ?? null)
      : enabled.includes('open')
        ? 'open'
        : (enabled[0] ?? null);
  switch (strategy) {
    case 'open':
      return {
        strategy,
        code: "await client.login({ type: 'open', username: 'ada' })",
        comment: ['Open login: anyone may connect, with any username.'],
      };
    case 'email':
      return {
        strategy,
        code: "await client.login({ type: 'email', email: 'user@example.com', password: 'their password' })",
        comment: ['Email login: use a user you added on the Users page.'],
      };
    case 'webhook':
      return {
        strategy,
        code: "await client.login({ type: 'webhook', token: 'what your webhook expects' })",
        comment: [
          'Webhook login: this authData is POSTed to your webhook, which answers with the user.',
        ],
      };
    case null:
      return {
        strategy: null,
        code: 'await client.login({})',
        comment: [
          'No login strategy is switched on, so every login is refused: see the Auth page.',
        ],
      };
    default: {
      const unknown: never = strategy;
      throw new Error(`unknown strategy ${String(unknown)}`);
    }
  }
}

/** What to say about the rules, and the names to use. */
function rulesNote(rules: RulesKind, login: Login): { lines: string[]; record: string } {
  switch (rules) {
    case 'development':
      return {
        lines: ['The development rules allow everything to everyone.'],
        record: "'hello/world'",
      };
    case 'signed-in':
      return {
        lines:
          login.strategy === 'open' || login.strategy === null
            ? [
                'The signed-in rules allow only authenticated users, and open logins are not:',
                'switch on email login (Auth page) and add a user (Users page) first.',
              ]
            : [
                'The signed-in rules let each authenticated user write under users/<their id>/',
                'and send events.',
              ],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a template literal in the generated code
        record: '`users/${user.id}/hello`',
      };
    case 'locked':
      return {
        lines: [
          'The locked rules deny everything: allow record create and write on "hello/world"',
          'and event publish on "greetings" (Permissions page) before this works.',
        ],
        record: "'hello/world'",
      };
    case 'none':
      return {
        lines: [
          'This app has no permissions yet, so the server denies everything below: pick a',
          'starter template or write rules on the Permissions page.',
        ],
        record: "'hello/world'",
      };
    case 'custom':
      return {
        lines: [
          'Your rules must allow record create and write on "hello/world" and event',
          'publish on "greetings" (try them in the simulator on the Permissions page).',
        ],
        record: "'hello/world'",
      };
    default: {
      const unknown: never = rules;
      throw new Error(`unknown rules ${String(unknown)}`);
    }
  }
}

const comment = (lines: string[], indent = '') => lines.map((l) => `${indent}// ${l}`).join('\n');

/** Login, one event and one acknowledged record write, then close. */
function body(context: SnippetContext, where: 'node' | 'browser', indent = ''): string {
  const login = chooseLogin(context.auth, context.rules);
  const note = rulesNote(context.rules, login);
  const from = where === 'node' ? 'Node' : 'the browser';
  const lines = [
    comment(login.comment, indent),
    `${indent}const user = ${login.code};`,
    `${indent}console.log('Logged in as', user.id);`,
    '',
    comment(note.lines, indent),
    comment(
      [
        'Every subscriber of "greetings" gets this event. (A denial arrives as an error',
        'before the write below is acknowledged.)',
      ],
      indent,
    ),
    `${indent}client.event.emit('greetings', { text: 'Hello from ${from}' });`,
    `${indent}await client.record.setDataWithAck(${note.record}, { text: 'Hello from ${from}', at: new Date().toISOString() });`,
    `${indent}console.log('Event sent and record written: it works.');`,
    `${indent}client.close();`,
  ];
  return lines.join('\n');
}

export function nodeSnippet(context: SnippetContext): string {
  const lines = ['// hello.mjs: run it with Node 20+ after `npm install @deepstream/client`'];
  if (context.caFile) {
    lines.push(
      "import { readFileSync } from 'node:fs';",
      "import { DeepstreamClient } from '@deepstream/client';",
      '',
      '// This server uses its own local CA: trust it for this connection',
      `// (or run with NODE_EXTRA_CA_CERTS=${context.caFile}).`,
      `const ca = readFileSync(${js(context.caFile)});`,
      `const client = new DeepstreamClient(${js(context.url)}, { socketOptions: { ca } });`,
    );
  } else {
    lines.push(
      "import { DeepstreamClient } from '@deepstream/client';",
      '',
      `const client = new DeepstreamClient(${js(context.url)});`,
    );
  }
  lines.push(
    '// Stop at the first error, with its reason, instead of retrying forever.',
    "client.on('error', (error, event) => {",
    "  console.error('Hubstream error:', event, error);",
    '  process.exit(1);',
    '});',
    '',
    body(context, 'node'),
  );
  return lines.join('\n');
}

export function browserSnippet(context: SnippetContext): string {
  const lines = [
    '<!-- The official client, served by this Hubstream (it defines window.DeepstreamClient) -->',
    `<script src="${context.bundleUrl.replace(/"/g, '&quot;')}"></script>`,
    '<script type="module">',
  ];
  if (context.caFile)
    lines.push(
      '  // The browser must trust this server\'s local CA first (see "Trust the local',
      '  // certificate authority" on the app page), or the connection fails.',
    );
  lines.push(
    '  const { DeepstreamClient } = window.DeepstreamClient;',
    `  const client = new DeepstreamClient(${js(context.url)});`,
    "  client.on('error', (error, event) => console.error('Hubstream error:', event, error));",
    '',
    body(context, 'browser', '  '),
    '</script>',
  );
  return lines.join('\n');
}

export function bundlerSnippet(context: SnippetContext): string {
  const lines = [
    '// With a bundler (Vite, webpack, esbuild…): npm install @deepstream/client',
    "import { DeepstreamClient } from '@deepstream/client';",
    '',
  ];
  if (context.caFile)
    lines.push("// The browser must trust this server's local CA first (see the app page).");
  lines.push(
    `const client = new DeepstreamClient(${js(context.url)});`,
    "client.on('error', (error, event) => console.error('Hubstream error:', event, error));",
    '',
    body(context, 'browser'),
  );
  return lines.join('\n');
}

/** The 2.x client's login call: its callback form, the same authData as the v7 login. */
const v2Login = (code: string) =>
  code.replace(/^await client\.login\((.*)\)$/, 'client.login($1, ');

/**
 * The same program for deepstream.io-client-js 2.x (deepstreamHub's
 * client, the text protocol) on the same URL: code written for
 * deepstreamHub needs only its URL changed. CommonJS and callbacks, as the
 * 2.x client is written.
 */
export function v2NodeSnippet(context: SnippetContext): string {
  const login = chooseLogin(context.auth, context.rules);
  const note = rulesNote(context.rules, login);
  const text = "'Hello from deepstream.io-client-js 2.x'";
  const lines = [
    '// hello-v2.cjs: deepstreamHub-era code (deepstream.io-client-js 2.x) on Hubstream;',
    '// run it with Node after `npm install deepstream.io-client-js@2`. From deepstreamHub',
    '// only the host changes: wss://HOST/APP_ID, or wss://HOST?apiKey=APP_ID as before.',
    "const deepstream = require('deepstream.io-client-js');",
  ];
  if (context.caFile) {
    lines.push(
      "const { readFileSync } = require('node:fs');",
      '// This server uses its own local CA: trust it for this connection',
      `// (or run with NODE_EXTRA_CA_CERTS=${context.caFile}).`,
      `const ca = readFileSync(${js(context.caFile)});`,
      `const client = deepstream(${js(context.url)}, { nodeSocketOptions: { ca } });`,
    );
  } else {
    lines.push(`const client = deepstream(${js(context.url)});`);
  }
  lines.push(
    '// Stop at the first error, with its reason, instead of retrying forever.',
    "client.on('error', (error, event) => {",
    "  console.error('Hubstream error:', event, error);",
    '  process.exit(1);',
    '});',
    '',
    comment(login.comment),
    `${v2Login(login.code)}(success, user) => {`,
    '  if (!success) {',
    "    console.error('Login refused:', user);",
    '    process.exit(1);',
    '  }',
    "  console.log('Logged in as', user.id);",
    '',
    comment(note.lines, '  '),
    `  client.event.emit('greetings', { text: ${text} });`,
    `  client.record.setData(${note.record}, { text: ${text}, at: new Date().toISOString() }, (error) => {`,
    '    if (error) {',
    "      console.error('Write refused:', error);",
    '      process.exit(1);',
    '    }',
    "    console.log('Event sent and record written: it works.');",
    '    client.close();',
    '  });',
    '});',
  );
  return lines.join('\n');
}

export function clientSnippets(context: SnippetContext): Snippets {
  return {
    node: nodeSnippet(context),
    browser: browserSnippet(context),
    bundler: bundlerSnippet(context),
    v2: v2NodeSnippet(context),
  };
}
