import type { AuthSettings } from '../api.ts';

/** The client code for an app: connect, then log in with each enabled strategy. */
export function clientSnippet(url: string, auth: AuthSettings | null): string {
  const lines = [
    "import { DeepstreamClient } from '@deepstream/client';",
    '',
    `const client = new DeepstreamClient('${url.replace(/['\\]/g, '\\$&')}');`,
  ];
  if (!auth) return lines.join('\n');
  const logins: string[] = [];
  if (auth.email.enabled)
    logins.push(
      "// Email: a user you added on the Users page\nawait client.login({ type: 'email', email: 'user@example.com', password: '…' });",
    );
  if (auth.webhook.enabled)
    logins.push(
      "// Webhook: whatever your webhook expects in authData\nawait client.login({ type: 'webhook', token: '…' });",
    );
  if (auth.open.enabled)
    logins.push(
      "// Open: anyone, with an optional username\nawait client.login({ username: 'ada' });",
    );
  if (logins.length === 0)
    logins.push(
      '// No auth strategy is switched on: every login is refused.\nawait client.login({});',
    );
  lines.push('', logins.join('\n\n'));
  return lines.join('\n');
}
