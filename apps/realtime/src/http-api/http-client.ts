import type { ConnectionInfo, User } from '@hubstream/auth';
import { checkClientMessage, decodeFrame, type Message, TOPIC } from '@hubstream/protocol';
import type { ClientSocket } from '../core/client-socket.ts';
import { Connection } from '../core/connection.ts';
import { fire2 } from '../core/lifecycle.ts';
import type { AppRuntime } from '../runtime/app-runtime.ts';
import { type Command, endsCommand } from './commands.ts';
import {
  type CommandResult,
  internalError,
  rateLimited,
  resultOf,
  shuttingDown,
  timedOut,
} from './results.ts';

// One HTTP request as the app's handlers see it: a logged-in connection
// whose replies come back here instead of going to a socket. Each command is
// handed to the same topic handler a WebSocket message would reach, after
// the same accounting (the app's lifecycle hooks: usage and metrics observe
// them, runtime/observers.ts) and rate limits, so rules, record versions,
// persistence, the cluster bus and RPC routing all apply unchanged. It never
// joins the app's connections: it holds no place in the connection limit and
// does not count as online for presence (as in deepstream, HTTP requests do
// not show in presence). Closed when the request is answered, which cancels
// whatever it still waits for (an RPC past the request's deadline).

const NO_SOCKET: ClientSocket = {
  send: () => {},
  close: () => {},
  bufferedBytes: 0,
};

type Wait = { command: Command; replies: Message[]; done: () => void };

export class HttpClient extends Connection {
  /** The runtime itself: this client routes its commands by hand. */
  declare readonly app: AppRuntime;
  #wait: Wait | null = null;

  constructor(app: AppRuntime, info: ConnectionInfo, user: User) {
    super(NO_SOCKET, app, info);
    this.user = user;
    this.state = 'open';
  }

  override send(message: Message): void {
    if (this.state === 'closed') return;
    const wait = this.#wait;
    if (!wait) return; // a late reply to a command already answered
    // Announced as a WebSocket client's reply is (usage, /metrics observe it).
    fire2(this.app.hooks.messageSent, this, message.topic);
    wait.replies.push(message);
    if (endsCommand(wait.command, message)) wait.done();
  }

  override sendFrame(frame: Uint8Array, _topic: number): void {
    // A server message (a fan-out), not a client's: read unchecked.
    const decoded = decodeFrame(frame, { anyTopic: true });
    if (decoded.ok) this.send(decoded.message);
  }

  /**
   * Runs one command and resolves with its answer: at once for what is
   * decided while the handler runs, else when its reply comes (an RPC's
   * response, a write's acknowledgement), or at `deadline` (epoch ms), or
   * when `stop` fires (the node is closing).
   */
  async run(command: Command, deadline: number, stop: AbortSignal): Promise<CommandResult> {
    const { message } = command;
    const { app } = this;
    fire2(app.hooks.messageReceived, this, message.topic);
    let allowed = app.limiter.allows(this, message);
    if (allowed instanceof Promise) allowed = await allowed;
    // Refused and counted as a WebSocket client's message would be.
    if (!allowed) return rateLimited(command);
    let ended = false;
    let wake: () => void = () => {};
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const wait: Wait = {
      command,
      replies: [],
      done: () => {
        ended = true;
        wake();
      },
    };
    this.#wait = wait;
    // The handler is bounded by the deadline too (a record load that hangs).
    let failed = false;
    let handled = false;
    (async () => this.#handle(message))().then(
      () => {
        handled = true;
        // An emit has no answer on success: it is over with its handler.
        if (command.kind === 'emit') wait.done();
      },
      (error: unknown) => {
        // Logged also when the request has been answered meanwhile (deadline).
        fire2(app.hooks.handlerFailed, this, error);
        this.log.error({ err: error }, 'http api command failed');
        failed = true;
        wait.done();
      },
    );
    try {
      const outcome = ended ? 'done' : await waitFor(woken, deadline, stop);
      if (failed) return internalError(command);
      const answer = wait.replies.find((reply) => endsCommand(command, reply));
      if (outcome === 'done' && (answer || handled)) return resultOf(command, answer);
      return outcome === 'stopped' ? shuttingDown() : timedOut();
    } finally {
      this.#wait = null;
    }
  }

  #handle(command: Message): void | Promise<void> {
    // Checked as a client's message is at the protocol edge: refused with the same reply.
    const checked = checkClientMessage(command);
    if (!checked.ok) return this.send(checked.reply);
    const { message } = checked;
    const { app } = this;
    switch (message.topic) {
      case TOPIC.EVENT:
        return app.events.handle(this, message);
      case TOPIC.RECORD:
        return app.records.handle(this, message);
      case TOPIC.RPC:
        return app.rpc.handle(this, message);
      case TOPIC.PRESENCE:
        return app.presence.handle(this, message);
      default: // commands are of the four topics above
        return;
    }
  }

  /** The request is answered: what this client still holds (RPCs in flight) is let go. */
  finish(): void {
    this.#wait = null;
    this.closed();
  }
}

async function waitFor(
  woken: Promise<void>,
  deadline: number,
  stop: AbortSignal,
): Promise<'done' | 'timeout' | 'stopped'> {
  if (stop.aborted) return 'stopped';
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      woken.then(() => 'done' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
      }),
      new Promise<'stopped'>((resolve) => {
        onAbort = () => resolve('stopped');
        stop.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) stop.removeEventListener('abort', onAbort);
  }
}
