import { connect, type Socket } from 'node:net';
import { OPEN_RULES, request } from './api.ts';
import { type Attack, type AttackResult, count, sleep } from './attack.ts';

// Attacks on the HTTP servers themselves: sockets that never finish their
// headers (on every listening port), and malformed control-plane input.

/** The header timeout the bench gives the servers in the short run (to fit its window). */
export const SHORT_HEADERS_TIMEOUT_MS = 2_000;

export const slowloris: Attack = {
  name: 'slowloris (partial headers, every port)',
  target: 'node',
  async prepare(context) {
    const perPort = context.short ? 60 : 300;
    // Past the header timeout (the bench's own in the short run, else the 10 s default).
    const windowMs = context.short ? SHORT_HEADERS_TIMEOUT_MS + 3_000 : 16_000;
    const sockets: { socket: Socket; closedAt: number | null; port: string; kind: number }[] = [];
    let dripper: NodeJS.Timeout | undefined;
    return {
      async run(): Promise<AttackResult> {
        const started = performance.now();
        for (const { label, port } of context.deployment.ports) {
          for (let i = 0; i < perPort; i++) {
            const socket = connect({ host: '127.0.0.1', port });
            const entry = { socket, closedAt: null as number | null, port: label, kind: i % 3 };
            socket.on('error', () => {});
            socket.on('close', () => {
              entry.closedAt = performance.now();
            });
            // A third stay silent, a third start a TLS handshake, a third send partial headers.
            const kind = entry.kind;
            if (kind === 1) socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02]));
            else if (kind === 2)
              socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-${i}: `);
            sockets.push(entry);
            if (i % 50 === 49) await sleep(5);
          }
        }
        // One more header byte a second: an idle timeout alone never fires.
        dripper = setInterval(() => {
          for (const { socket } of sockets) if (!socket.destroyed) socket.write('a');
        }, 1_000);
        await sleep(windowMs - (performance.now() - started));
        clearInterval(dripper);
        const open = sockets.filter((s) => s.closedAt === null);
        const byPort = context.deployment.ports
          .map(({ label }) => {
            const mine = sockets.filter((s) => s.port === label);
            const closed = (kind: number) =>
              `${mine.filter((s) => s.kind === kind && s.closedAt !== null).length}/${mine.filter((s) => s.kind === kind).length}`;
            return `${label}: silent ${closed(0)}, TLS hello ${closed(1)}, headers ${closed(2)}`;
          })
          .join(', ');
        return {
          volume: `${count(sockets.length)} sockets on ${context.deployment.ports.length} ports`,
          outcome: `closed by the server within ${(windowMs / 1000).toFixed(0)} s: ${byPort}`,
          defended: open.length === 0,
        };
      },
      async cleanup() {
        clearInterval(dripper);
        for (const { socket } of sockets) socket.destroy();
      },
    };
  },
};

const deep = (depth: number, leaf: string) => `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`;

export const malformedControlPlane: Attack = {
  name: 'malformed control-plane input',
  target: 'control-plane',
  async prepare(context) {
    const dev = context.developer;
    const appId = await dev.createApp('malformed', {});
    const userId = await dev.createUser(appId, 'someone@example.com', 'a-good-password');
    await dev.call('PUT', `/v1/apps/${appId}/permissions`, {
      valve: OPEN_RULES,
    });
    await dev.call('PUT', `/v1/apps/${appId}/permissions`, {
      valve: OPEN_RULES.replace('publish: true', 'publish: false'),
    });
    const before = await dev.call('GET', `/v1/apps/${appId}`);
    const userBefore = await dev.call('GET', `/v1/apps/${appId}/users/${userId}`);
    // A dashboard session (cookie), for the cross-origin body-less POSTs.
    const login = await request(dev.base, 'POST', '/v1/login', {
      body: { email: dev.email, password: dev.password, session: 'cookie' },
    });
    const cookie = (login.setCookie ?? '').split(';')[0] ?? '';
    const rounds = context.short ? 10 : 100;
    const users = `/v1/apps/${appId}/users`;
    const foreign = { cookie, origin: 'https://evil.example' };
    const cases: {
      what: string;
      method: string;
      path: string;
      options?: Parameters<typeof request>[3];
    }[] = [
      { what: 'q=%00', method: 'GET', path: `${users}?q=%00` },
      { what: 'huge offset', method: 'GET', path: `${users}?offset=99999999999999999999` },
      { what: 'huge limit', method: 'GET', path: `${users}?limit=99999999999999999999` },
      { what: 'negative offset', method: 'GET', path: `${users}?offset=-1` },
      { what: 'NUL app id', method: 'GET', path: '/v1/apps/%00' },
      { what: 'NUL user id', method: 'GET', path: `${users}/%00` },
      {
        what: 'huge version',
        method: 'GET',
        path: `/v1/apps/${appId}/permissions/versions/99999999999999999999`,
      },
      {
        what: 'NUL in app name',
        method: 'PATCH',
        path: `/v1/apps/${appId}`,
        options: { body: { name: 'a\u0000b' } },
      },
      {
        what: 'NUL in rules',
        method: 'PUT',
        path: `/v1/apps/${appId}/permissions`,
        options: { body: { valve: OPEN_RULES.replace('publish: true', 'publish: "\u0000"') } },
      },
      {
        what: 'deep serverData',
        method: 'PATCH',
        path: `${users}/${userId}`,
        options: { raw: `{"serverData":${deep(5_000, '1')}}` },
      },
      {
        what: 'deep clientData',
        method: 'POST',
        path: users,
        options: {
          raw: `{"email":"deep@example.com","password":"a-good-password","clientData":${deep(5_000, '1')}}`,
        },
      },
      {
        what: 'deep array body',
        method: 'PUT',
        path: `/v1/apps/${appId}/limits`,
        options: { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
      },
      {
        what: 'broken JSON',
        method: 'PUT',
        path: `/v1/apps/${appId}/auth`,
        options: { raw: '{"open":' },
      },
      {
        what: 'NUL in email',
        method: 'POST',
        path: users,
        options: { body: { email: 'a\u0000@example.com', password: 'a-good-password' } },
      },
      {
        what: 'cross-origin rollback',
        method: 'POST',
        path: `/v1/apps/${appId}/permissions/versions/1/activate`,
        options: { headers: foreign },
      },
      {
        what: 'cross-origin logout',
        method: 'POST',
        path: '/v1/logout',
        options: { headers: foreign },
      },
    ];
    return {
      async run(): Promise<AttackResult> {
        const serverErrors = new Map<string, number>();
        const accepted = new Map<string, number>();
        let sent = 0;
        for (let round = 0; round < rounds; round++) {
          for (const c of cases) {
            // Without the bearer token for the cookie cases: the cookie is the credential.
            const reply = c.options?.headers?.cookie
              ? await request(dev.base, c.method, c.path, c.options)
              : await dev.send(c.method, c.path, c.options ?? {});
            sent++;
            if (reply.status >= 500) serverErrors.set(c.what, (serverErrors.get(c.what) ?? 0) + 1);
            if (reply.status < 300) accepted.set(c.what, (accepted.get(c.what) ?? 0) + 1);
          }
        }
        const list = (m: Map<string, number>) => [...m.keys()].join(', ') || 'none';
        return {
          volume: `${count(sent)} requests (${cases.length} kinds x ${rounds})`,
          outcome: `5xx: ${list(serverErrors)}; accepted: ${list(accepted)}`,
          defended: serverErrors.size === 0,
          stateChanges: 0,
        };
      },
      // Refused input must have changed nothing (read after the window).
      async verify() {
        const after = await dev.call('GET', `/v1/apps/${appId}`);
        const userAfter = await dev.call('GET', `/v1/apps/${appId}/users/${userId}`);
        const me = await request(dev.base, 'GET', '/v1/me', { headers: { cookie } });
        return [
          after.name !== before.name ? 'app name' : '',
          after.activePermissionVersion !== before.activePermissionVersion ? 'active rules' : '',
          JSON.stringify(userAfter.serverData) !== JSON.stringify(userBefore.serverData)
            ? 'serverData'
            : '',
          me.status !== 200 ? 'session ended' : '',
        ].filter(Boolean);
      },
      async cleanup() {},
    };
  },
};
