import { busyFor } from '@hubstream/testing';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { nextSlice } from '../src/core/bulk-slices.ts';
import { corkedSender, flushStaleCorks } from '../src/gateway/websocket.ts';

// The gateway's write batching: every frame sent to one socket in one turn
// of the event loop goes out in one write (the TCP socket corked for the turn).

/**
 * A stand-in for a ws socket over a TCP socket, with its corked sender:
 * records what reaches the wire and when.
 */
function fakeSocket() {
  const events: string[] = [];
  let corks = 0;
  const tcp = {
    cork() {
      corks++;
      events.push('cork');
    },
    uncork() {
      corks--;
      events.push('uncork');
    },
  };
  const socket = {
    _socket: tcp,
    send(frame: Uint8Array) {
      events.push(`send ${frame[0]}${corks > 0 ? ' (corked)' : ''}`);
    },
  };
  const ws = socket as unknown as WebSocket;
  return { socket: ws, events, send: corkedSender(ws) };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('corkedSender', () => {
  it('sends the frames of one turn corked, in order, and uncorks at the end of the turn', async () => {
    const { events, send } = fakeSocket();
    send(Uint8Array.of(1));
    send(Uint8Array.of(2));
    await Promise.resolve().then(() => send(Uint8Array.of(3)));
    expect(events).toEqual(['cork', 'send 1 (corked)', 'send 2 (corked)', 'send 3 (corked)']);
    await nextTurn();
    expect(events.at(-1)).toBe('uncork');
    // A later turn corks again, once.
    send(Uint8Array.of(4));
    await nextTurn();
    expect(events.slice(5)).toEqual(['cork', 'send 4 (corked)', 'uncork']);
  });

  it('keeps every socket corked until the I/O of the turn is done, then uncorks each once', async () => {
    const a = fakeSocket();
    const b = fakeSocket();
    a.send(Uint8Array.of(1));
    // Work queued by the handler (a nextTick, another packet's callback) still joins the same write.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    b.send(Uint8Array.of(2));
    a.send(Uint8Array.of(3));
    expect(a.events).toEqual(['cork', 'send 1 (corked)', 'send 3 (corked)']);
    await nextTurn();
    expect(a.events).toEqual(['cork', 'send 1 (corked)', 'send 3 (corked)', 'uncork']);
    expect(b.events).toEqual(['cork', 'send 2 (corked)', 'uncork']);
  });

  it('uncorks a socket at once when what it holds reaches 64 KiB (it counts against the backpressure bound)', async () => {
    const { socket, events, send } = fakeSocket();
    send(Uint8Array.of(1));
    (socket as unknown as { bufferedAmount: number }).bufferedAmount = 64 * 1024;
    send(Uint8Array.of(2));
    expect(events).toEqual(['cork', 'send 1 (corked)', 'send 2 (corked)', 'uncork']);
    (socket as unknown as { bufferedAmount: number }).bufferedAmount = 0;
    send(Uint8Array.of(3));
    await nextTurn();
    // Corked again for the rest of the turn, and uncorked once more at its end.
    expect(events.slice(4)).toEqual(['cork', 'send 3 (corked)', 'uncork']);
  });

  it('sends what waited corked for 0.25 ms when another input of the same turn comes, not at the end of the turn', async () => {
    const a = fakeSocket();
    const b = fakeSocket();
    a.send(Uint8Array.of(1));
    // The next input at once: nothing has waited long, the write stays for the end of the turn.
    flushStaleCorks();
    expect(a.events).toEqual(['cork', 'send 1 (corked)']);
    // Other sockets' input kept the turn busy for longer than that.
    busyFor(0.3);
    flushStaleCorks();
    expect(a.events).toEqual(['cork', 'send 1 (corked)', 'uncork']);
    // What is written after it waits its own time, and goes out at the end of the turn.
    b.send(Uint8Array.of(2));
    a.send(Uint8Array.of(3));
    flushStaleCorks();
    expect(b.events).toEqual(['cork', 'send 2 (corked)']);
    await nextTurn();
    expect(a.events.slice(3)).toEqual(['cork', 'send 3 (corked)', 'uncork']);
    expect(b.events).toEqual(['cork', 'send 2 (corked)', 'uncork']);
  });

  it('sends directly when the socket has no TCP socket to cork', () => {
    const sent: number[] = [];
    const socket = { send: (frame: Uint8Array) => sent.push(frame[0]!) } as unknown as WebSocket;
    const send = corkedSender(socket);
    send(Uint8Array.of(7));
    expect(sent).toEqual([7]);
  });

  it("puts a turn's frames on the wire before sliced work resumes, though that work yielded first", async () => {
    const { events, send } = fakeSocket();
    // Another connection's bulk work yielded (bulk-slices.ts) before this turn's event was written.
    const resumed = nextSlice().then(() => events.push('sliced work'));
    send(Uint8Array.of(1));
    await resumed;
    expect(events).toEqual(['cork', 'send 1 (corked)', 'uncork', 'sliced work']);
  });
});
