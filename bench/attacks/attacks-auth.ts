import { AUTH_ACTION, type Message } from '../../packages/protocol/src/index.ts';
import { HIGH_LIMITS, OPEN_RULES } from './api.ts';
import { type Attack, type AttackResult, count, until } from './attack.ts';
import { DeepstreamClient } from './deps.ts';
import { closeSummary, pool, RawClient } from './raw.ts';

// Attacks on logins: guessing email passwords across connections, open
// auth posing as an email user, a webhook that never quite answers.

const errorOf = (reply: Message | null): string => {
  if (!reply) return 'no reply';
  if (reply.action === AUTH_ACTION.AUTH_SUCCESSFUL) return 'ACCEPTED';
  if (reply.action === AUTH_ACTION.TOO_MANY_AUTH_ATTEMPTS) return 'TOO_MANY_AUTH_ATTEMPTS';
  try {
    const data = JSON.parse(reply.data ?? '{}') as { error?: unknown };
    return typeof data.error === 'string' ? data.error : `action ${reply.action}`;
  } catch {
    return `action ${reply.action}`;
  }
};

const tally = (values: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

const describe = (counts: Map<string, number>) =>
  [...counts].map(([k, n]) => `${k} x${n}`).join(', ');

/** The official client's login, from `localAddress`; the user id it got, or null when refused. */
async function officialLogin(
  url: string,
  authData: Record<string, unknown>,
  localAddress?: string,
): Promise<{ id: string | null; client: DeepstreamClient; error?: string }> {
  const client = new DeepstreamClient(url, {
    maxReconnectAttempts: 0,
    offlineEnabled: false,
    ...(localAddress ? { socketOptions: { localAddress } } : {}),
  });
  client.on('error', () => {});
  try {
    const data = (await Promise.race([
      client.login(authData as Parameters<DeepstreamClient['login']>[0] & object),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10_000)),
    ])) as { id?: unknown } | null;
    return { id: typeof data?.id === 'string' ? data.id : '(no id)', client };
  } catch (error) {
    return {
      id: null,
      client,
      error: error instanceof Error ? error.message : JSON.stringify(error),
    };
  }
}

export const passwordGuessing: Attack = {
  name: 'email password guessing across connections',
  target: 'node',
  async prepare(context) {
    const password = 'the-right-password-42';
    const appId = await context.developer.createApp('guessing', {
      rules: OPEN_RULES,
      limits: HIGH_LIMITS,
      auth: { open: { enabled: false }, email: { enabled: true }, maxAuthAttempts: 3 },
    });
    const email = 'victim@example.com';
    await context.developer.createUser(appId, email, password);
    const { nodeA, nodeB } = context.deployment;
    const connections = context.short ? 40 : 100;
    const tries = 3;
    const clients: RawClient[] = [];
    const legit: DeepstreamClient[] = [];
    return {
      async run(): Promise<AttackResult> {
        const answers: string[] = [];
        await pool(connections, 20, async (i) => {
          const url = `${i % 2 === 0 ? nodeA : nodeB}/${appId}`;
          const { client, accepted } = await RawClient.challenged(url);
          clients.push(client);
          if (!accepted) {
            answers.push(`not accepted (${client.closed?.code ?? client.failure})`);
            return;
          }
          for (let t = 0; t < tries && client.isOpen; t++) {
            answers.push(
              errorOf(await client.authenticate({ email, password: `guess-${i}-${t}` })),
            );
          }
          client.terminate();
        });
        const guesses = answers.length;
        const counts = tally(answers);
        const checked = counts.get('INVALID_EMAIL_OR_PASSWORD') ?? 0;
        // The attacker then tries the right password from its own address...
        const attackerTry = await RawClient.login(`${nodeA}/${appId}`, { email, password });
        attackerTry.client.terminate();
        const attackerIn = attackerTry.reply?.action === AUTH_ACTION.AUTH_SUCCESSFUL;
        // ...and the real user logs in from another one, through both nodes.
        const real = await Promise.all(
          [nodeA, nodeB].map((node) =>
            officialLogin(`${node}/${appId}`, { email, password }, '127.0.0.2'),
          ),
        );
        for (const r of real) legit.push(r.client);
        const realIn = real.filter((r) => r.id !== null).length;
        return {
          volume: `${connections} connections x ${tries} = ${count(guesses)} wrong passwords`,
          outcome:
            `${describe(counts)}; right password from the attacker's address: ` +
            `${attackerIn ? 'ACCEPTED' : errorOf(attackerTry.reply)}; ` +
            `real user from 127.0.0.2: ${realIn}/${real.length} logged in`,
          defended: checked < guesses && !attackerIn && realIn === real.length,
        };
      },
      async cleanup() {
        for (const client of clients) client.terminate();
        for (const client of legit) client.close();
      },
    };
  },
};

export const openImpersonation: Attack = {
  name: 'open auth posing as an email user',
  target: 'node',
  async prepare(context) {
    const rules = `record:
  "*":
    read: true
    create: false
    write: false
    delete: false
  "profile/$uid":
    read: true
    create: "user.id === $uid"
    write: "user.id === $uid"
    delete: "user.id === $uid"
event:
  "*":
    publish: true
    subscribe: true
rpc:
  "*":
    provide: false
    request: false
presence:
  "*":
    allow: true
`;
    const appId = await context.developer.createApp('impersonation', {
      rules,
      limits: HIGH_LIMITS,
      auth: { open: { enabled: true }, email: { enabled: true } },
    });
    const password = 'victims-password-1';
    const email = 'owner@example.com';
    const victimId = await context.developer.createUser(appId, email, password);
    const { nodeA, nodeB } = context.deployment;
    const attempts = context.short ? 10 : 50;
    const clients: DeepstreamClient[] = [];
    return {
      async run(): Promise<AttackResult> {
        const forms = [
          { username: victimId },
          { type: 'open', username: victimId },
          { username: victimId, email },
          { username: ` ${victimId}` },
          { username: victimId.toUpperCase() },
        ];
        let impersonations = 0;
        let writes = 0;
        await pool(attempts, 10, async (i) => {
          const url = `${i % 2 === 0 ? nodeA : nodeB}/${appId}`;
          const { id, client } = await officialLogin(url, forms[i % forms.length]!);
          clients.push(client);
          if (id === null) return;
          if (id === victimId) impersonations++;
          // Whatever id it got: try to write the victim's record.
          const error = await new Promise<string | null>((resolve) => {
            client.record.setDataWithAck(`profile/${victimId}`, { owner: `attacker-${i}` }, (e) =>
              resolve(e ?? null),
            );
            setTimeout(() => resolve('timeout'), 5_000);
          });
          if (error === null) writes++;
        });
        // The owner looks at the record: nothing may have been written.
        const owner = await officialLogin(`${nodeA}/${appId}`, { email, password });
        clients.push(owner.client);
        const exists =
          owner.id === null ? null : await owner.client.record.has(`profile/${victimId}`);
        return {
          volume: `${attempts} open logins as the email user's id`,
          outcome:
            `${impersonations} got the victim's id; ${writes} writes acked; ` +
            `victim's record ${exists === null ? `unchecked (owner login failed: ${owner.error})` : exists ? 'EXISTS' : 'absent'}`,
          defended: impersonations === 0 && writes === 0 && exists === false,
          impersonations,
          stateChanges: writes + (exists ? 1 : 0),
        };
      },
      async cleanup() {
        for (const client of clients) client.close();
      },
    };
  },
};

export const webhookDrip: Attack = {
  name: 'webhook dripping 1 byte/s',
  target: 'node',
  async prepare(context) {
    const appId = await context.developer.createApp('drip webhook', {
      rules: OPEN_RULES,
      limits: HIGH_LIMITS,
      auth: {
        open: { enabled: false },
        webhook: {
          enabled: true,
          url: context.webhook.url('/drip'),
          timeoutMs: 1_000,
          retryAttempts: 1,
          retryIntervalMs: 100,
          retryStatusCodes: [503],
        },
        unauthenticatedTimeoutMs: 600_000,
      },
    });
    const { nodeA, nodeB } = context.deployment;
    const connections = context.short ? 6 : 20;
    // timeoutMs 1 s, one retry: a bounded login answers within a few seconds.
    const waitMs = context.short ? 6_000 : 30_000;
    const clients: RawClient[] = [];
    context.webhook.reset();
    return {
      async run(): Promise<AttackResult> {
        const started = performance.now();
        const replies = await pool(connections, connections, async (i) => {
          const url = `${i % 2 === 0 ? nodeA : nodeB}/${appId}`;
          const { client, accepted } = await RawClient.challenged(url, {
            headers: { cookie: `session=secret-${i}`, authorization: `Bearer secret-${i}` },
          });
          clients.push(client);
          if (!accepted) return { answer: 'not accepted', ms: 0 };
          const reply = await client.authenticate({ token: `t${i}` }, waitMs);
          return { answer: errorOf(reply), ms: performance.now() - started };
        });
        const answered = replies.filter((r) => r.answer !== 'no reply');
        const slowest = Math.max(0, ...answered.map((r) => r.ms));
        await until(() => context.webhook.stats.requests > 0, 100);
        const leaked = context.webhook.stats.leakedSecrets;
        return {
          volume: `${connections} logins; webhook sends 1 byte/s`,
          outcome:
            `${answered.length}/${connections} answered (slowest ${(slowest / 1000).toFixed(1)} s: ` +
            `${describe(tally(replies.map((r) => r.answer)))}); ${closeSummary(clients)}; ` +
            `${context.webhook.stats.requests} webhook calls, ${leaked} carried Cookie/Authorization`,
          defended: answered.length === connections && leaked === 0,
        };
      },
      async cleanup() {
        for (const client of clients) client.terminate();
      },
    };
  },
};
