import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadCallError, ThreadCalls, type ThreadEndpoint } from '../src/thread-calls.ts';

// ThreadCalls over a real MessageChannel: the two ports stand for a worker's
// parentPort and its Worker object, with the structured clone algorithm
// between them as between two threads.

const opened: MessagePort[] = [];

afterEach(() => {
  // An open port keeps the test process alive.
  for (const port of opened.splice(0)) port.close();
});

/** An endpoint over `port` that records what it posts. */
function recording(port: MessagePort) {
  const posted: unknown[] = [];
  const endpoint: ThreadEndpoint = {
    postMessage(message) {
      port.postMessage(message);
      posted.push(message);
    },
    on: (event, listener) => port.on(event, listener),
  };
  return { endpoint, posted };
}

/** Both ends, and what each posted. */
function pair() {
  const { port1, port2 } = new MessageChannel();
  opened.push(port1, port2);
  const here = recording(port1);
  const there = recording(port2);
  return {
    here: new ThreadCalls(here.endpoint),
    there: new ThreadCalls(there.endpoint),
    postedHere: here.posted,
    posted: there.posted,
  };
}

/** A promise and the function that settles it, for a handler to say it ran. */
function signal<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('ThreadCalls', () => {
  it('answers a call with the value, Dates, BigInts and typed arrays crossing as themselves', async () => {
    const { here, there } = pair();
    const received: unknown[][] = [];
    there.handle('echo', (...args: unknown[]) => {
      received.push(args);
      const [at, big, bytes] = args as [Date, bigint, Uint8Array];
      return {
        at: new Date(at.getTime() + 1_000),
        big: big * 2n,
        bytes: bytes.map((b) => b + 1),
        nested: { list: [1, 'two', null] },
      };
    });
    const at = new Date('2026-01-02T03:04:05.678Z');
    const answer = await here.call<{
      at: Date;
      big: bigint;
      bytes: Uint8Array;
      nested: unknown;
    }>('echo', at, 2n ** 70n, new Uint8Array([1, 2, 255]));

    expect(received).toHaveLength(1);
    const [sentAt, sentBig, sentBytes] = received[0] as [Date, bigint, Uint8Array];
    expect(sentAt).toBeInstanceOf(Date);
    expect(sentAt).toEqual(at);
    expect(sentBig).toBe(2n ** 70n);
    expect(sentBytes).toBeInstanceOf(Uint8Array);
    expect([...sentBytes]).toEqual([1, 2, 255]);

    expect(answer.at).toBeInstanceOf(Date);
    expect(answer.at.toISOString()).toBe('2026-01-02T03:04:06.678Z');
    expect(typeof answer.big).toBe('bigint');
    expect(answer.big).toBe(2n ** 71n);
    expect(answer.bytes).toBeInstanceOf(Uint8Array);
    expect([...answer.bytes]).toEqual([2, 3, 0]);
    expect(answer.nested).toEqual({ list: [1, 'two', null] });
    expect(here.pending).toBe(0);
  });

  it('answers an async handler once it resolves, and calls that overlap each get their own', async () => {
    const { here, there } = pair();
    const slow = signal<string>();
    there.handle('slow', () => slow.promise);
    there.handle('fast', (n: number) => n + 1);
    const first = here.call<string>('slow');
    expect(await here.call<number>('fast', 41)).toBe(42);
    expect(here.pending).toBe(1);
    slow.resolve('late');
    expect(await first).toBe('late');
    expect(here.pending).toBe(0);
  });

  it("rejects with the thrown error's name, message, code and plain-data cause", async () => {
    const { here, there } = pair();
    const cause = { kind: 'UniqueConstraintViolation', constraint: { fields: ['email'] } };
    there.handle('fail', () => {
      throw Object.assign(new TypeError('email taken', { cause }), { code: 'E_TAKEN' });
    });
    const error = await here.call('fail').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'TypeError', message: 'email taken', code: 'E_TAKEN' });
    expect((error as Error).cause).toEqual(cause);
  });

  it('sends an Error cause as its name and message, and a thrown non-Error as its text', async () => {
    const { here, there } = pair();
    there.handle('wrapped', async () => {
      throw new Error('outer', { cause: Object.assign(new RangeError('inner'), { code: 7 }) });
    });
    there.handle('string', () => {
      throw 'just text';
    });
    const wrapped = await here.call('wrapped').catch((e: Error) => e);
    expect(wrapped).toMatchObject({ name: 'Error', message: 'outer' });
    expect((wrapped as Error).cause).toEqual({ name: 'RangeError', message: 'inner', code: 7 });
    await expect(here.call('string')).rejects.toMatchObject({
      name: 'Error',
      message: 'just text',
    });
  });

  it('rejects a call to a function nobody handles with a ThreadCallError', async () => {
    const { here, there } = pair();
    there.handle('known', () => 1);
    const error = await here.call('unknown', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThreadCallError);
    expect(error).toMatchObject({
      name: 'ThreadCallError',
      message: 'no function unknown in the other thread',
    });
    expect(here.pending).toBe(0);
    // The ends still talk.
    expect(await here.call('known')).toBe(1);
  });

  it('runs a notified handler with its arguments and sends nothing back', async () => {
    const { here, there, posted } = pair();
    const notes: unknown[][] = [];
    there.handle('note', (...args: unknown[]) => {
      notes.push(args);
      return 'ignored';
    });
    there.handle('ping', () => 'pong');
    expect(here.notify('note', 'a', { b: 2n })).toBeUndefined();
    expect(here.pending).toBe(0);
    // Messages are handled in order: once ping is answered the note was handled.
    expect(await here.call('ping')).toBe('pong');
    expect(notes).toEqual([['a', { b: 2n }]]);
    // The only message `there` sent is ping's answer.
    expect(posted).toEqual([{ t: 'ok', id: 1, v: 'pong' }]);
  });

  it('hands what a notified handler threw to onNoteError, and goes on', async () => {
    const { port1, port2 } = new MessageChannel();
    opened.push(port1, port2);
    const heard: { error: unknown; method: string }[] = [];
    let bothHeard!: () => void;
    const both = new Promise<void>((resolve) => {
      bothHeard = resolve;
    });
    const here = new ThreadCalls(port1);
    const there = new ThreadCalls(port2, {
      onNoteError: (error, method) => {
        heard.push({ error, method });
        if (heard.length === 2) bothHeard();
      },
    });
    const bug = new Error('handler bug');
    there.handle('note', () => {
      throw bug;
    });
    there.handle('async-note', async () => {
      throw bug;
    });
    there.handle('ping', () => 'pong');
    here.notify('note');
    here.notify('async-note');
    expect(await here.call('ping')).toBe('pong');
    await both;
    expect(heard).toEqual([
      { error: bug, method: 'note' },
      { error: bug, method: 'async-note' },
    ]);
  });

  it('on close, rejects the waiting calls and every later one with a ThreadCallError', async () => {
    const { here, there, postedHere } = pair();
    const entered = signal();
    const never = signal<string>();
    there.handle('hang', () => {
      entered.resolve();
      return never.promise;
    });
    there.handle('ping', () => 'pong');
    const waiting = here.call('hang');
    await entered.promise;
    expect(here.pending).toBe(1);

    here.close('the control plane thread ended (exit code 1)');
    const error = await waiting.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThreadCallError);
    expect(error).toMatchObject({
      name: 'ThreadCallError',
      message: 'the control plane thread ended (exit code 1)',
    });
    expect(here.pending).toBe(0);
    await expect(here.call('ping')).rejects.toThrow(
      new ThreadCallError('the control plane thread ended (exit code 1)'),
    );
    const later = await here.call('ping').catch((e: unknown) => e);
    expect(later).toBeInstanceOf(ThreadCallError);
    // A closed end sends nothing more: not the calls, not a note.
    const sent = postedHere.length;
    here.notify('note', 1);
    expect(postedHere).toHaveLength(sent);
    expect(postedHere.map((m) => (m as { m: string }).m)).toEqual(['hang']);
  });

  it('rejects with a ThreadCallError, not hanging, when the answer cannot be cloned', async () => {
    const { here, there } = pair();
    there.handle('fn', () => () => 'a function');
    there.handle('object', async () => ({ ok: true, callback: () => {} }));
    there.handle('cause', () => {
      throw new Error('with a function', { cause: { retry: () => {} } });
    });
    for (const method of ['fn', 'object', 'cause']) {
      const error = await here.call(method).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThreadCallError);
      expect(error).toMatchObject({ message: `${method}'s result cannot cross threads` });
    }
    expect(here.pending).toBe(0);
  });

  it('rejects a call whose arguments cannot be cloned without leaving it pending', async () => {
    const { here, there } = pair();
    let called = false;
    there.handle('take', () => {
      called = true;
    });
    await expect(here.call('take', () => {})).rejects.toMatchObject({ name: 'DataCloneError' });
    expect(here.pending).toBe(0);
    expect(called).toBe(false);
  });

  it('refuses a second handler for one name', () => {
    const { there } = pair();
    there.handle('once', () => 1);
    expect(() => there.handle('once', () => 2)).toThrow('once is already handled');
  });
});
