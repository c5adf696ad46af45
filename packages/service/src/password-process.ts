import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';

// Password hashing in a child process of the lowest CPU priority. An argon2
// hash is ~100 ms of one core and 19 MiB; on libuv's thread pool it ran at
// the event loop's priority and took a share of its core from every app's
// clients for as long as a burst of logins or guesses lasted (issue 12:
// the well-behaved client's p99 went from 3 to 34 ms under 300 email
// guesses, of which only the few unthrottled ones were hashed). In a process
// at nice 19 the kernel runs the hashes in the time the node leaves idle:
// a login waits a little longer, every other client does not.
//
// One child, started on the first hash, one hash at a time (the node's
// other work comes first anyway); at most MAX_WAITING wait for it, the rest
// are refused at once with PasswordChecksBusyError. The child exits when the
// parent does (its IPC channel closes), and a child that dies is replaced on
// the next hash, its callers refused.

/** Password checks that may wait for the child; one more is refused (PasswordChecksBusyError). */
export const MAX_WAITING = 256;

/** Thrown when MAX_WAITING checks already wait: the caller refuses the login or request. */
export class PasswordChecksBusyError extends Error {
  override readonly name = 'PasswordChecksBusyError';
  readonly code = 'PASSWORD_CHECKS_BUSY';
  /** Over HTTP (the control plane's signups and logins): 429, come back later. */
  readonly statusCode = 429;
  constructor(waiting: number) {
    super(`${waiting} password checks are already waiting on this server`);
  }
}

/**
 * A hash not computed or checked: `argon2` when argon2 refused the input (a
 * malformed stored hash), `process` when the child failed or could not start.
 */
export class PasswordProcessError extends Error {
  override readonly name = 'PasswordProcessError';
  readonly source: 'argon2' | 'process';
  constructor(message: string, source: 'argon2' | 'process') {
    super(message);
    this.source = source;
  }
}

export type Job =
  | { op: 'hash'; password: string; options: Record<string, number> }
  | { op: 'verify'; hash: string; password: string };

/** The child's answer: the hash or the verdict, or what argon2 threw (e.g. a malformed hash). */
type Reply = { id: number; value?: string | boolean; error?: string };

/**
 * The child, as CommonJS for `node -e`: argon2 is loaded from the path the
 * parent resolved, so the child runs the same in source and in the build
 * (which bundles this module elsewhere than its source).
 */
const CHILD_SOURCE = `
const argon2 = require(process.argv[1]);
process.on('disconnect', () => process.exit(0));
process.on('message', async (job) => {
  try {
    const value = job.op === 'hash'
      ? await argon2.hash(job.password, job.options)
      : await argon2.verify(job.hash, job.password);
    process.send({ id: job.id, value });
  } catch (error) {
    process.send({ id: job.id, error: String((error && error.message) || error) });
  }
});
`;

type Waiting = {
  job: Job;
  resolve: (value: string | boolean) => void;
  reject: (error: Error) => void;
};

export class PasswordProcess {
  readonly #maxWaiting: number;
  #child: ChildProcess | null = null;
  #nextId = 1;
  /** The job the child is computing, by id. */
  #running: (Waiting & { id: number }) | null = null;
  readonly #waiting: Waiting[] = [];

  constructor({ maxWaiting = MAX_WAITING }: { maxWaiting?: number } = {}) {
    this.#maxWaiting = maxWaiting;
  }

  /** The child's process id, while there is one. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  run(job: Job): Promise<string | boolean> {
    if (this.#waiting.length >= this.#maxWaiting)
      return Promise.reject(new PasswordChecksBusyError(this.#maxWaiting));
    return new Promise((resolve, reject) => {
      this.#waiting.push({ job, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#running) return;
    const waiting = this.#waiting.shift();
    if (!waiting) {
      // Idle: the child does not keep the parent alive.
      this.#child?.channel?.unref();
      return;
    }
    let child: ChildProcess;
    try {
      child = this.#child ?? this.#start();
    } catch (error) {
      waiting.reject(
        new PasswordProcessError(
          `password process: ${error instanceof Error ? error.message : error}`,
          'process',
        ),
      );
      this.#next();
      return;
    }
    child.channel?.ref();
    this.#running = { ...waiting, id: this.#nextId++ };
    child.send({ ...waiting.job, id: this.#running.id });
  }

  /** Spawns the child if there is none (then idle: it does not keep this process alive). */
  start(): void {
    if (this.#child) return;
    try {
      this.#start().channel?.unref();
    } catch {
      // Tried again at the first hash, whose caller hears why.
    }
  }

  #start(): ChildProcess {
    const argon2Path = createRequire(import.meta.url).resolve('argon2');
    const child = spawn(process.execPath, ['-e', CHILD_SOURCE, argon2Path], {
      // spawn, not fork: none of the parent's flags (a profiler, a loader, --inspect ports).
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.unref();
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      // Not permitted to lower it? Lowering is always permitted; a child already gone fails below.
    }
    child.on('message', (reply: Reply) => {
      const running = this.#running;
      if (!running || reply.id !== running.id) return;
      this.#running = null;
      if (reply.error !== undefined)
        running.reject(new PasswordProcessError(reply.error, 'argon2'));
      else if (reply.value === undefined)
        running.reject(new PasswordProcessError('password process: no value', 'process'));
      else running.resolve(reply.value);
      this.#next();
    });
    const gone = (why: string) => {
      if (this.#child !== child) return;
      this.#child = null;
      const running = this.#running;
      this.#running = null;
      running?.reject(new PasswordProcessError(`password process ${why}`, 'process'));
      this.#next();
    };
    child.on('exit', (code, signal) => gone(`exited (${signal ?? code})`));
    child.on('error', (error) => gone(`failed: ${error.message}`));
    this.#child = child;
    return child;
  }
}

let shared: PasswordProcess | undefined;

/**
 * Starts the child now rather than at the first hash. Spawning forks this
 * process: ~15 ms with the event loop stopped at 250 MB of memory, which a
 * long-running server pays at start, not in the middle of its clients'
 * traffic (the first login of a burst).
 */
export function startPasswordProcess(): void {
  shared ??= new PasswordProcess();
  shared.start();
}

/** Computes `job` in the shared low-priority child process. */
export function inPasswordProcess(job: Job): Promise<string | boolean> {
  shared ??= new PasswordProcess();
  return shared.run(job);
}
