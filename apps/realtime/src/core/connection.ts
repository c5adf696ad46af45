import { randomUUID } from 'node:crypto';
import type { ConnectionInfo, User } from '@hubstream/auth';
import {
  AUTH_ACTION,
  CLOSE_CODES,
  type ClientMessage,
  CONNECTION_ACTION,
  decodeFrame,
  encodeMessage,
  type Message,
  PARSER_ACTION,
  TOPIC,
} from '@hubstream/protocol';
import {
  currentBudgetStart,
  currentTurn,
  enterInline,
  nextSlice,
  noteHeavyInline,
  sliceSpent,
} from './bulk-slices.ts';
import type { ClientSocket, ReceivedMessage } from './client-socket.ts';
import type { ConnectionHost, ConnectionState } from './connection-host.ts';
import { ConnectionLog } from './connection-log.ts';
import { MAX_NAMED_DENIALS, rateLimitedReplies } from './denials.ts';
import { Fifo } from './fifo.ts';
import { isPing, isPong, PONG } from './heartbeat-frames.ts';
import { fire, fire2 } from './lifecycle.ts';
import { Login } from './login.ts';
import type { GuardClose, ProtocolError } from './node-counters.ts';
import { markedStandIn, refusalOf } from './refused.ts';
import type { Logger } from './types.ts';

/**
 * Messages waiting behind a pending one (a permission check loading a
 * record, a login) beyond which the connection's socket is no longer read
 * until they are handled: its client then waits in TCP, not in our memory.
 */
const INBOUND_PAUSE_MESSAGES = 256;

/**
 * A message waiting its turn: a plain record in a queue, not a chain of
 * promises per message. A burst of small frames (2,000 LISTENs read at once)
 * waits whole, and every young-generation GC meanwhile copies what waits:
 * four promises and their closures a message were ~0.5 KB, this is ~40 bytes.
 */
type Queued = { message: Message | Uint8Array; beforeLogin: boolean; bytes: number };

/**
 * Bytes of frames read from one connection after which its socket is not
 * read again until the next turn of the event loop. One poll of the event
 * loop reads up to 32 chunks of 64 KB from a socket, each parsed (unmasked,
 * scanned, decoded) in the same go: a client sending 600 KB frames back to
 * back held the loop for 5-10 ms per poll (bench:attacks, huge SUBSCRIBE
 * name lists), and every other connection of the node waited. Paused, the
 * socket yields after the chunk that brought this many bytes.
 */
export const READ_BYTES_PER_TURN = 64 * 1024;

/**
 * One client connection: the handshake, quarantine until login, then every
 * message in order through the app's topic handlers. Messages of one
 * connection are handled strictly in arrival order, also when a permission
 * check has to load a record first.
 */
export class Connection {
  /**
   * Flat: randomUUID's string is a tree of a dozen concatenated pieces
   * (about 400 bytes an idle connection would hold); this copy is one.
   */
  readonly id = Buffer.from(randomUUID(), 'latin1').toString('latin1');
  readonly app: ConnectionHost<Connection>;
  readonly info: ConnectionInfo;
  state: ConnectionState = 'awaiting-challenge';
  user: User | null = null;
  #socket: ClientSocket;
  /** The handshake and login (core/login.ts); null once open or closed. */
  #login: Login<Connection> | null;
  #lastSeen = Date.now();
  /**
   * Whether messages are being handled in order behind one another (#runQueue):
   * one being handled (its async part pending) or waiting in #waiting.
   */
  #queue = false;
  /** Messages (or frames, decoded in their turn) waiting for the one before them, in arrival order. */
  readonly #waiting = new Fifo<Queued>();
  /** Messages waiting in #queue that arrived before login (bounded). */
  #queuedBeforeLogin = 0;
  /** Bytes of the messages waiting in #waiting. */
  #queuedBytes = 0;
  /** The socket is not read until #queue drains. */
  #paused = false;
  /** Bytes read since the socket last yielded a turn (READ_BYTES_PER_TURN). */
  #readBytes = 0;
  /** The socket is not read until the next turn of the event loop (READ_BYTES_PER_TURN). */
  #turnPaused = false;
  /** When the current run of queued messages began (TURN_SLICE_MS); undefined when idle. */
  #sliceStart: number | undefined;
  /** The turn (currentTurn) of the last message handled as it came, and when that run began. */
  #inlineTurn = -1;
  #inlineStart = 0;
  /** Over its outbound bound: nothing more is sent; the close follows. */
  #slow = false;
  /** Set while the outbound buffer is over its bound: looks again at the end of the grace. */
  #graceTimer: NodeJS.Timeout | undefined;

  constructor(socket: ClientSocket, app: ConnectionHost<Connection>, info: ConnectionInfo) {
    this.#socket = socket;
    this.app = app;
    this.info = info;
    this.#login = new Login<Connection>(this, app, (user, clientData) =>
      this.#opened(user, clientData),
    );
  }

  /** The login succeeded and the app admitted the connection: it is open. */
  #opened(user: User, clientData: Record<string, unknown>): void {
    this.#login = null;
    this.#socket.loggedIn?.();
    this.user = user;
    this.state = 'open';
    this.send({
      topic: TOPIC.AUTH,
      action: AUTH_ACTION.AUTH_SUCCESSFUL,
      data: JSON.stringify(clientData),
    });
    this.app.attach(this);
    fire(this.app.hooks.connectionAuthenticated, this);
    this.log.debug({ user: user.id }, 'logged in');
  }

  /**
   * The app's log with this connection's id and app id on every line. Made
   * when asked for (a line is rare), not kept: an idle connection holds no
   * logger of its own.
   */
  get log(): Logger {
    return new ConnectionLog(this.app.log, this.id, this.app.appId);
  }

  get lastSeen(): number {
    return this.#lastSeen;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  send(message: Message): void {
    if (this.state === 'closed' || this.#slow) return;
    const codec = this.#socket.codec;
    const frame = codec ? codec.encode(message) : encodeMessage(message);
    if (frame !== null) this.#write(frame, message.topic);
  }

  /** For fan-out: the caller encodes once and sends the same bytes to many. */
  sendFrame(frame: Uint8Array, topic: number): void {
    if (this.state === 'closed' || this.#slow) return;
    const codec = this.#socket.codec;
    const out = codec ? codec.translate(frame) : frame;
    if (out !== null) this.#write(out, topic);
  }

  #write(frame: Uint8Array, topic: number): void {
    // Backpressure: a client that does not read what it is sent is closed
    // rather than buffered without end. Its memory is at most twice its
    // buffer's bound plus one frame; the others it shares names with are not
    // held up.
    const { maxBufferedBytes, slowConsumerGraceMs } = this.app.settings;
    const buffered = this.#socket.bufferedBytes;
    if (buffered > 2 * maxBufferedBytes) {
      this.#slowConsumer(buffered);
      return;
    }
    const sent = this.app.hooks.messageSent;
    for (let i = 0; i < sent.length; i++) sent[i]!(this, topic);
    this.#socket.send(frame);
    // Over the bound but not twice it: a burst the client may still be
    // reading. Closed if the buffer is still over the bound after the grace.
    if (!this.#graceTimer && this.#socket.bufferedBytes > maxBufferedBytes) {
      this.#graceTimer = setTimeout(() => {
        this.#graceTimer = undefined;
        const still = this.#socket.bufferedBytes;
        if (this.state !== 'closed' && still > maxBufferedBytes) this.#slowConsumer(still);
      }, slowConsumerGraceMs);
      this.#graceTimer.unref();
    }
  }

  #slowConsumer(buffered: number): void {
    this.#slow = true;
    this.log.info({ buffered }, 'slow consumer: closing');
    // Not in the middle of the caller's fan-out: closing detaches the
    // connection from the very subscriptions being iterated.
    queueMicrotask(() =>
      this.#guardClose(
        'slow_consumer',
        CLOSE_CODES.SLOW_CONSUMER,
        'slow consumer: too much unread data',
      ),
    );
  }

  /** Closes to protect the node (not a protocol or login failure), counted for the metrics. */
  #guardClose(reason: GuardClose, code: number, text: string): void {
    if (this.state === 'closed') return;
    fire(this.app.hooks.guardClosed, reason);
    this.close(code, text);
    this.#socket.stopReading?.();
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.#socket.close(code, reason);
    this.closed();
  }

  /** The transport is gone (either side closed it). Idempotent. */
  closed(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.#login?.stop();
    this.#login = null;
    clearTimeout(this.#graceTimer);
    fire2(this.app.hooks.connectionClosed, this, wasOpen);
    this.app.detach(this, wasOpen);
  }

  /**
   * Counts bytes read; past READ_BYTES_PER_TURN the socket is paused until
   * the next turn of the event loop (unless the queue holds it paused longer).
   */
  #read(bytes: number): void {
    this.#readBytes += bytes;
    if (this.#readBytes < READ_BYTES_PER_TURN || this.#turnPaused || !this.#socket.pause) return;
    this.#turnPaused = true;
    this.#socket.pause();
    setImmediate(() => {
      this.#turnPaused = false;
      this.#readBytes = 0;
      // Also when closed meanwhile (a drain, a kick): the client's close
      // frame must be read for the close handshake to end, not wait out the
      // close timeout. A guard close's socket stays unread (stopReading).
      if (!this.#paused) this.#socket.resume?.();
    });
  }

  /** Whether the socket is paused until the next turn (READ_BYTES_PER_TURN). */
  get readingPausedForTurn(): boolean {
    return this.#turnPaused;
  }

  /** A binary frame from the client. */
  receive(frame: Uint8Array): void {
    if (this.state === 'closed') return;
    this.#lastSeen = Date.now();
    this.#read(frame.byteLength);
    const loggedIn = this.state === 'open';
    // Sizes first, before any decoding.
    if (this.#tooLarge(frame.byteLength, loggedIn)) return;
    // After login a bulk message over the names cap and too long to be
    // refused name by name is not decoded at all (its names are counted on
    // the wire): a stand-in with its first name is refused in its turn.
    const maxNames = this.#maxNames;
    // Behind a pending message, a logged-in connection's frame waits as it
    // came, decoded in its turn: a decoded 1,000-name SUBSCRIBE is thousands
    // of small objects, and a queue of them survives every young-generation
    // GC meanwhile, each copying them (20-100 ms pauses for every app on the
    // node); the frame's bytes are one buffer outside the JS heap.
    // So does one that comes after this turn's slice of messages handled at once.
    if (loggedIn && (this.#queue || this.#overSlice())) {
      this.#enqueue(frame, false, frame.byteLength);
      return;
    }
    this.#decoded(
      decodeFrame(frame, loggedIn ? { maxNames } : {}),
      loggedIn,
      frame.byteLength,
      true,
    );
  }

  /**
   * Whether this connection's messages handled as they came have run for
   * TURN_SLICE_MS in this turn: then the next is queued, after a yield.
   * bench:attacks huge SUBSCRIBE: 182 EMITs on fresh names, each a Valve
   * cache miss (~90 us), came in one read and ran as one 16-18 ms task.
   */
  #overSlice(): boolean {
    const now = performance.now();
    const current = currentTurn();
    if (current !== this.#inlineTurn) {
      this.#inlineTurn = current;
      this.#inlineStart = now;
      return false;
    }
    if (!sliceSpent(this.#inlineStart, now)) return false;
    // The queue's first message yields the turn (#yieldIfBusy), and the
    // turn's sliced work gets what is left of the slice (bulk-slices.ts).
    this.#sliceStart = this.#inlineStart;
    noteHeavyInline(this.#inlineStart);
    return true;
  }

  /** A queued frame's message, in its turn (as `receive` decodes); null when refused. */
  #decodeQueued(frame: Uint8Array): Message | null {
    const decoded = decodeFrame(frame, { maxNames: this.#maxNames });
    if (decoded.ok) return decoded.message;
    const standIn = markedStandIn(decoded);
    if (!standIn) this.#decodeFailed(decoded.reason);
    return standIn ?? null;
  }

  #decodeFailed(reason: string): void {
    if (reason === 'UNKNOWN_TOPIC') this.#parserError(PARSER_ACTION.UNKNOWN_TOPIC, 'unknown_topic');
    else this.#parserError(PARSER_ACTION.MESSAGE_PARSE_ERROR, 'parse_error');
  }

  /** Names a bulk message may list before it is refused as a whole (as `receive` decodes). */
  get decodeMaxNames(): number | undefined {
    return this.state === 'open' ? this.#maxNames : undefined;
  }

  get #maxNames(): number {
    return Math.max(this.app.limits.maxNamesPerMessage, MAX_NAMED_DENIALS);
  }

  /**
   * Refuses a message over the size bounds; true when refused. Before login
   * only small frames (CHALLENGE, AUTH) have any business here: the
   * connection is closed.
   */
  #tooLarge(bytes: number, loggedIn: boolean): boolean {
    if (!loggedIn && bytes > this.app.settings.preLoginMaxMessageBytes) {
      this.#parserError(PARSER_ACTION.MAXIMUM_MESSAGE_SIZE_EXCEEDED, 'message_too_large');
      this.#guardClose(
        'pre_login_message_size',
        CLOSE_CODES.MESSAGE_TOO_BIG,
        'message too large before login',
      );
      return true;
    }
    if (bytes <= this.app.maxMessageBytes) return false;
    this.#parserError(PARSER_ACTION.MAXIMUM_MESSAGE_SIZE_EXCEEDED, 'message_too_large');
    return true;
  }

  /**
   * One message of a frame the transport decoded itself (the 2.x text
   * protocol, whose frames hold several): the same bounds and refusals as a
   * binary frame's, `bytes` being the message's own size.
   */
  receiveMessage(decoded: ReceivedMessage, bytes: number): void {
    if (this.state === 'closed') return;
    this.#lastSeen = Date.now();
    this.#read(bytes);
    const loggedIn = this.state === 'open';
    if (this.#tooLarge(bytes, loggedIn)) return;
    // The text client's answer to our heartbeat: being heard from is all it does.
    if (decoded.ok && isPong(decoded.message)) return;
    this.#decoded(decoded, loggedIn, bytes);
  }

  /** `sliced`: the turn's slice was looked at already (#overSlice). */
  #decoded(decoded: ReceivedMessage, loggedIn: boolean, bytes: number, sliced = false): void {
    // Refused by the codec yet still in its turn (core/refused.ts), or answered now.
    const message = decoded.ok ? decoded.message : markedStandIn(decoded);
    if (message) this.#accept(message, loggedIn, bytes, sliced);
    else if (!decoded.ok) this.#decodeFailed(decoded.reason);
  }

  /**
   * A decoded message: handled now when nothing is pending (and, logged in,
   * within this turn's slice), else queued behind what is.
   */
  #accept(message: Message, loggedIn: boolean, bytes: number, sliced: boolean): void {
    if (!this.#queue && !(loggedIn && !sliced && this.#overSlice())) {
      // Bulk work this message starts counts against this connection's slice.
      if (loggedIn) enterInline(this.#inlineStart);
      const result = this.#process(message);
      // Its handling goes on: later messages wait for it (#runQueue).
      if (result) void this.#runQueue(result);
      return;
    }
    if (loggedIn) {
      this.#enqueue(message, false, bytes);
      return;
    }
    // A challenge or login is being decided. PINGs have no effect before
    // login: not kept. Anything else waits, a few at most.
    if (isPing(message)) return;
    if (this.#queuedBeforeLogin >= this.app.settings.preLoginMaxQueuedMessages) {
      this.#guardClose(
        'pre_login_queue',
        CLOSE_CODES.TOO_MANY_MESSAGES_BEFORE_LOGIN,
        'too many messages before login',
      );
      return;
    }
    this.#enqueue(message, true, bytes);
  }

  /** Handles `message` (or a frame, decoded then) after what is already queued, in arrival order. */
  #enqueue(message: Message | Uint8Array, beforeLogin: boolean, bytes: number): void {
    if (beforeLogin) this.#queuedBeforeLogin++;
    this.#waiting.push({ message, beforeLogin, bytes });
    this.#queuedBytes += bytes;
    const bound = this.app.settings.maxBufferedBytes;
    if (
      !this.#paused &&
      (this.#waiting.size >= INBOUND_PAUSE_MESSAGES || this.#queuedBytes >= bound)
    ) {
      this.#paused = true;
      this.#socket.pause?.();
    }
    if (!this.#queue) void this.#runQueue(undefined);
  }

  /**
   * Handles the queued messages one after the other, each after the async
   * part of the one before (`first`: a message handled as it came whose
   * handling goes on), until none waits. A failure is reported and the next
   * message handled.
   */
  async #runQueue(first: Promise<void> | undefined): Promise<void> {
    this.#queue = true;
    try {
      if (first) await this.#settle(first);
      while (this.#waiting.size > 0) {
        // Never inside #enqueue itself, and a later turn once the slice is spent.
        await this.#yieldIfBusy();
        const { message, beforeLogin, bytes } = this.#waiting.shift()!;
        if (beforeLogin) this.#queuedBeforeLogin--;
        this.#queuedBytes -= bytes;
        const bound = this.app.settings.maxBufferedBytes;
        if (
          this.#paused &&
          this.#waiting.size <= INBOUND_PAUSE_MESSAGES / 2 &&
          this.#queuedBytes < bound / 2
        ) {
          this.#paused = false;
          if (!this.#turnPaused) this.#socket.resume?.();
        }
        const result = this.#processQueued(message);
        if (result) await this.#settle(result);
      }
    } finally {
      this.#queue = false;
      this.#sliceStart = undefined;
    }
  }

  /** A queued message (a frame is decoded now); a failure is reported, not thrown. */
  #processQueued(message: Message | Uint8Array): void | Promise<void> {
    try {
      if (!(message instanceof Uint8Array)) return this.#process(message);
      if (this.state === 'closed') return;
      const decoded = this.#decodeQueued(message);
      return decoded ? this.#process(decoded) : undefined;
    } catch (error) {
      this.#failed(error);
    }
  }

  /** Waits for a message's async handling; a failure is reported, not thrown. */
  async #settle(pending: Promise<void>): Promise<void> {
    try {
      await pending;
    } catch (error) {
      this.#failed(error);
    }
  }

  #failed(error: unknown): void {
    fire2(this.app.hooks.handlerFailed, this, error);
    this.log.error({ err: error }, 'message handling failed');
  }

  /**
   * Before a queued message: lets the event loop turn (other sockets' I/O,
   * timers) once this connection's queue has run for TURN_SLICE_MS
   * (bulk-slices.ts). Queued messages are handled in an async loop, that
   * is in microtasks: without this, a burst of bulk messages (thirty
   * 1,000-name SUBSCRIBEs arrive in one read) would be handled in one go,
   * and every other connection of the node, of every app, would wait for
   * all of it.
   */
  #yieldIfBusy(): Promise<void> | undefined {
    const now = performance.now();
    if (this.#sliceStart === undefined) {
      this.#sliceStart = now;
      return undefined;
    }
    if (!sliceSpent(this.#sliceStart, now)) return undefined;
    return nextSlice().then(() => {
      this.#sliceStart = currentBudgetStart();
    });
  }

  /** Whether the socket is not being read while queued messages are handled. */
  get readingPaused(): boolean {
    return this.#paused;
  }

  /** A text frame: the v7 protocol is binary only. */
  receiveText(): void {
    if (this.state === 'closed') return;
    this.#lastSeen = Date.now();
    this.#parserError(PARSER_ACTION.INVALID_MESSAGE, 'text_frame');
  }

  #parserError(action: PARSER_ACTION, kind: ProtocolError) {
    fire2(this.app.hooks.protocolError, this, kind);
    this.send({ topic: TOPIC.PARSER, action });
  }

  #process(message: Message): void | Promise<void> {
    switch (this.state) {
      case 'awaiting-challenge':
        return this.#login?.handshake(message);
      case 'awaiting-auth':
      case 'authenticating':
        return this.#login?.quarantine(message);
      case 'open':
        return this.#dispatch(message);
      default: // closed
        return;
    }
  }

  #dispatch(message: Message): void | Promise<void> {
    const received = this.app.hooks.messageReceived;
    for (let i = 0; i < received.length; i++) received[i]!(this, message.topic);
    // Over a rate limit: the message has no effect, and the client is told.
    const allowed = this.app.allows(this, message);
    if (allowed === true) return this.#handle(message);
    if (allowed === false) return this.#rateLimited(message);
    return allowed.then((ok) => (ok ? this.#handle(message) : this.#rateLimited(message)));
  }

  #rateLimited(message: Message): void {
    for (const reply of rateLimitedReplies(message)) this.send(reply);
  }

  #handle(message: Message): void | Promise<void> {
    switch (message.topic) {
      case TOPIC.CONNECTION:
        if (message.action === CONNECTION_ACTION.PING) this.sendFrame(PONG, TOPIC.CONNECTION);
        return;
      case TOPIC.AUTH:
        // Already logged in: deepstream ignores repeated logins on an open connection.
        return;
      case TOPIC.EVENT:
      case TOPIC.RECORD:
      case TOPIC.RPC:
      case TOPIC.PRESENCE: {
        const refusal = refusalOf(message);
        // Checked by the codec: a ClientMessage unless refused.
        return refusal ? this.send(refusal) : this.app.route(this, message as ClientMessage);
      }
      default:
        this.#parserError(PARSER_ACTION.UNKNOWN_TOPIC, 'unknown_topic');
        return;
    }
  }
}
