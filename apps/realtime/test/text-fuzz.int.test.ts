import { once } from 'node:events';
import type { DeepstreamClient } from '@deepstream/client';
import { CLOSE_CODES, decodeTextFrame, TOPIC } from '@hubstream/protocol';
import { until } from '@hubstream/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  mutatedMessage,
  RS,
  US,
  VALID,
} from '../../../packages/protocol/test/text-fuzz-arbitraries.ts';
import type { Connection } from '../src/core/connection.ts';
import type { AppRuntime } from '../src/runtime/app-runtime.ts';
import { type Stack, startStack } from './harness.ts';
import { slowWebhook } from './slow-webhook.ts';

// The realtime node under text-protocol fuzzing (issue 19 item 4), over a
// real socket: messages of every topic, mutated (packages/protocol/test/
// text-fuzz-arbitraries.ts), sent before and after login. The node never
// crashes and answers every refused message; what it refuses changes
// nothing (a record a v7 client reads back keeps its version and data, no
// subscription, provider or presence entry is made); what waits before
// login is bounded. Rates are raised: the fuzz sends hundreds of messages
// a second from one connection.

let stack: Stack;
let appId: string;
let v7: DeepstreamClient;
const GUARD = 'guard/fixed';
const GUARD_DATA = { owner: 'v7', speed: 3 };

beforeAll(async () => {
  stack = await startStack({
    env: {
      CONNECTION_MAX_MESSAGES_PER_SECOND: '1000000',
      APP_MAX_MESSAGES_PER_SECOND: '1000000',
    },
  });
  appId = await stack.createApp();
  v7 = await stack.client(appId, { username: 'v7' });
  await v7.record.setDataWithAck(GUARD, GUARD_DATA);
});
afterAll(async () => {
  v7?.close();
  await stack?.close();
});

/** A raw text socket: every message the node sends, with `|` for the unit separator. */
async function rawText() {
  const socket = new WebSocket(`${stack.realtimeUrl}/${appId}`);
  const messages: string[] = [];
  socket.on('message', (data: Buffer, isBinary) => {
    if (isBinary) return;
    for (const one of data.toString().split(RS)) if (one) messages.push(one.replaceAll(US, '|'));
  });
  let closeCode: number | undefined;
  const closed = once(socket, 'close').then(([code]) => {
    closeCode = code as number;
    return closeCode;
  });
  await once(socket, 'open');
  const send = (...texts: string[]) => socket.send(texts.map((m) => m + RS).join(''));
  /** Resolves with the first message from `from` on that `test` accepts; rejects if the socket closes first. */
  const next = async (test: (message: string) => boolean, from = 0) => {
    await until(
      () => closeCode !== undefined || messages.slice(from).some(test),
      'a message from the node',
    );
    const found = messages.slice(from).find(test);
    if (found === undefined) throw new Error(`closed (${closeCode}) before: ${messages.join(' ')}`);
    return found;
  };
  return { socket, messages, closed, send, next, closeCode: () => closeCode };
}
type Raw = Awaited<ReturnType<typeof rawText>>;

async function loggedIn(username: string): Promise<{ raw: Raw; connection: Connection }> {
  const raw = await rawText();
  raw.send(`C${US}CHR${US}ws://x/${appId}`);
  await raw.next((m) => m === 'C|A');
  raw.send(`A${US}REQ${US}${JSON.stringify({ username })}`);
  await raw.next((m) => m.startsWith('A|A|'));
  return { raw, connection: connectionOf(`open:${username}`) };
}

let runtimeConnections: () => Connection[];
/** The fuzzed app's runtime (a connection sees only its narrow host). */
let fuzzRuntime: AppRuntime;
function connectionOf(id: string): Connection {
  const found = runtimeConnections().find((c) => c.user?.id === id);
  if (!found) throw new Error(`no connection of ${id}`);
  return found;
}

/** A has-request for a name of its own: its answer shows everything sent before was handled. */
let sentinels = 0;
async function flush(raw: Raw): Promise<void> {
  const name = `sentinel/${++sentinels}`;
  const from = raw.messages.length;
  raw.send(`R${US}HD${US}${name}`);
  await raw.next((m) => m.includes(name), from);
}

/** What a connection holds in the app: subscriptions, providers, presence. */
function holdings(connection: Connection, runtime = fuzzRuntime) {
  return {
    events: runtime.events.subscriptions.countOf(connection),
    records: runtime.records.subscriptions.countOf(connection),
    rpc: runtime.rpc.providers.countOf(connection),
    presence: runtime.presence.subscriptions.countOf(connection),
    presenceAll: runtime.presence.everyone.has(connection),
  };
}
const NOTHING = { events: 0, records: 0, rpc: 0, presence: 0, presenceAll: false };

/** The guard record as a v7 client reads it back: version and data. */
async function guard(): Promise<{ version: number; data: unknown }> {
  return { version: await v7.record.head(GUARD), data: await v7.record.snapshot(GUARD) };
}

/**
 * Messages the node refuses whole (every one fails to decode), at most `max`
 * in a frame. A message decoded but missing a field its action requires
 * (INVALID_MESSAGE) is answered on its own topic, as a handler did: not here.
 */
const refusedFrame = (max: number) =>
  fc.array(mutatedMessage(VALID, 5), { minLength: 1, maxLength: max }).filter((messages) =>
    messages.every((m) => {
      const results = decodeTextFrame(m + RS);
      return (
        results.length === 1 && results[0]?.ok === false && results[0].reason !== 'INVALID_MESSAGE'
      );
    }),
  );

describe('the realtime node under text fuzzing', () => {
  beforeAll(async () => {
    const runtime = (await stack.runtime(appId))!;
    fuzzRuntime = runtime;
    runtimeConnections = () => [...runtime.connections];
  });

  it('answers every refused message of a logged-in client and changes nothing', async () => {
    const before = await guard();
    expect(before.data).toEqual(GUARD_DATA);
    const { raw, connection } = await loggedIn('fuzz');
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(refusedFrame(10), async (messages) => {
        const from = raw.messages.length;
        raw.send(...messages);
        refused += messages.length;
        await flush(raw);
        // One error per refused message, and no other reply (the sentinel's aside).
        const replies = raw.messages.slice(from).filter((m) => !m.includes('sentinel/'));
        expect(replies, messages.join(' / ')).toHaveLength(messages.length);
        for (const reply of replies)
          expect(reply).toMatch(/^X\|E\|(MESSAGE_PARSE_ERROR|UNKNOWN_TOPIC)/);
      }),
      { numRuns: 150 },
    );
    expect(refused).toBeGreaterThan(150);
    expect(raw.closeCode()).toBeUndefined();
    expect(connection.isOpen).toBe(true);
    expect(holdings(connection)).toEqual(NOTHING);
    expect(await guard()).toEqual(before);
    raw.socket.close();
  });

  it('survives every mutated message of every topic and random text after login, and the guarded record holds', async () => {
    const before = await guard();
    let raw = (await loggedIn('mutant')).raw;
    let reopened = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            { arbitrary: mutatedMessage(VALID, 3), weight: 4 },
            // Random text too, separators and lone surrogates included.
            { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
          ),
          { minLength: 1, maxLength: 10 },
        ),
        async (messages) => {
          if (raw.closeCode() !== undefined) {
            reopened++;
            raw = (await loggedIn('mutant')).raw;
          }
          raw.send(...messages);
          // A mutated message may be valid (and act); whatever it is, the
          // node answers the next one, or has closed with a documented code.
          try {
            await flush(raw);
          } catch (error) {
            expect(Object.values(CLOSE_CODES), String(error)).toContain(raw.closeCode());
          }
        },
      ),
      { numRuns: 150 },
    );
    // The fuzz never names the guarded record: it is as the v7 client left it.
    expect(await guard()).toEqual(before);
    expect(reopened).toBeLessThan(10);
    // The node still serves: a fresh v7 client logs in and reads.
    const other = await stack.client(appId, { username: 'after' });
    expect(await other.record.snapshot(GUARD)).toEqual(GUARD_DATA);
    other.close();
    raw.socket.close();
  });

  it('before login: refuses or ignores what comes before the challenge and the login, then logs in holding nothing', async () => {
    // Auth messages aside: a valid one would log in during the fuzz.
    const noAuth = fc
      .array(mutatedMessage(VALID, 4), { minLength: 1, maxLength: 6 })
      .filter((messages) =>
        messages.every((m) => {
          const [result] = decodeTextFrame(m + RS);
          return !(result?.ok && result.message.topic === TOPIC.AUTH);
        }),
      );
    let n = 0;
    let queueCloses = 0;
    await fc.assert(
      fc.asyncProperty(noAuth, noAuth, async (beforeChallenge, beforeLogin) => {
        const username = `pre${++n}`;
        const raw = await rawText();
        // The first frame chooses the codec (C|... is the 2.x client's): a bare
        // pong, which has no effect, then the fuzz.
        raw.send(`C${US}PO`);
        raw.send(...beforeChallenge);
        raw.send(`C${US}CHR${US}ws://x/${appId}`);
        try {
          await raw.next((m) => m === 'C|A');
          raw.send(...beforeLogin);
          raw.send(`A${US}REQ${US}${JSON.stringify({ username })}`);
          await raw.next((m) => m.startsWith('A|A|'));
        } catch {
          // The only way out: a valid challenge among the fuzz, then more
          // than the few messages that may wait behind it.
          expect(raw.closeCode()).toBe(CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN);
          queueCloses++;
          return;
        }
        await flush(raw);
        // Nothing sent before login acted after it.
        expect(holdings(connectionOf(`open:${username}`))).toEqual(NOTHING);
        raw.socket.close();
        await raw.closed;
      }),
      { numRuns: 60 },
    );
    expect(queueCloses).toBeLessThan(60);
    await until(() => runtimeConnections().length <= 1, 'the fuzz connections to close');
  });

  it('bounds what a text connection may queue behind a login and the size of its frames', async () => {
    const hook = await slowWebhook();
    try {
      const slowApp = await stack.createApp({
        auth: {
          open: { enabled: false },
          webhook: { enabled: true, url: hook.url, retryAttempts: 0 },
        },
      });
      const open = async (token: string) => {
        const socket = new WebSocket(`${stack.realtimeUrl}/${slowApp}`);
        const messages: string[] = [];
        socket.on('message', (data: Buffer) => {
          for (const one of data.toString().split(RS)) if (one) messages.push(one);
        });
        const closed = once(socket, 'close').then(([code]) => code as number);
        await once(socket, 'open');
        socket.send(`C${US}CHR${US}ws://x${RS}`);
        await until(() => messages.includes(`C${US}A`), 'the challenge accepted');
        socket.send(`A${US}REQ${US}${JSON.stringify({ token })}${RS}`);
        return { socket, messages, closed };
      };
      const patient = await open('patient');
      const greedy = await open('greedy');
      await until(() => hook.seen() === 2, 'both logins at the webhook');
      // Eight messages wait behind a login however they are framed (one frame
      // of eight here); a ninth, even in a frame of its own, closes.
      const subscribe = (i: number) => `E${US}S${US}queued${i}${RS}`;
      patient.socket.send(Array.from({ length: 8 }, (_, i) => subscribe(i)).join(''));
      greedy.socket.send(Array.from({ length: 8 }, (_, i) => subscribe(i)).join(''));
      greedy.socket.send(subscribe(8));
      expect(await greedy.closed).toBe(CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN);
      hook.release();
      await until(() => patient.messages.some((m) => m.startsWith(`A${US}A`)), 'the login');
      const runtime = (await stack.runtime(slowApp))!;
      await until(
        () => [...runtime.events.subscriptions.names()].length === 8,
        'the queued subscriptions',
      );
      // A frame whose one message is over the pre-login size closes before
      // anything is decoded, however few separators it holds.
      const big = await rawText();
      big.send(`E${US}EVT${US}news${US}S${'x'.repeat(20_000)}`);
      expect(await big.closed).toBe(CLOSE_CODES.MESSAGE_TOO_BIG);
      patient.socket.close();
    } finally {
      hook.close();
    }
  });
});
