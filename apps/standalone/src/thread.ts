// Starting and stopping the control plane's thread of `pnpm start`
// (control-plane-thread.ts), apart from standalone.ts: main.ts starts it
// before it loads the realtime node's modules.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Config } from '@hubstream/config';
import { type Logger, type LogLevel, ThreadCalls } from '@hubstream/service';
import type { ControlPlaneThreadData } from './control-plane-thread.ts';

/** This package's directory: the one above this module with a package.json (src/ or dist/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('@hubstream/standalone: no package.json above this module');
    dir = parent;
  }
  return dir;
}

const isCondition = (arg: string) =>
  arg === '--conditions' || arg === '-C' || /^(--conditions|-C)=/.test(arg);

/** Node options without --conditions (-C): a test runner's source condition. */
export function withoutConditions(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--conditions' || arg === '-C') i++;
    else if (!isCondition(arg)) kept.push(arg);
  }
  return kept;
}

export type ControlPlaneThread = ReturnType<typeof startControlPlaneThread>;

/**
 * The control plane's thread, started with the settings and driven through
 * calls. `openAtOnce`: it opens the database as it starts, before `open`
 * has checked that the control plane may listen as configured. Its file is the package's
 * built one (dist/), also when this module runs from source (tests build
 * first).
 */
export function startControlPlaneThread(
  settings: Config,
  logger: Logger,
  { openAtOnce = false }: { openAtOnce?: boolean } = {},
) {
  const data: ControlPlaneThreadData = {
    settings,
    openAtOnce,
    log: { level: logger.level as LogLevel, pretty: process.stdout.isTTY === true },
  };
  const worker = new Worker(path.join(packageRoot(), 'dist', 'control-plane-thread.js'), {
    workerData: data,
    name: 'control plane',
    // Built packages, also under a test runner that resolves them to source
    // (--conditions; otherwise the thread takes this process' options).
    ...(process.execArgv.some(isCondition)
      ? { execArgv: withoutConditions(process.execArgv) }
      : {}),
  });
  const calls = new ThreadCalls(worker, {
    onNoteError: (error, method) => logger.error({ err: error, method }, 'thread call failed'),
  });
  let ended: ((error: Error) => void) | undefined;
  const gone = (error: Error) => {
    calls.close(error.message);
    ended?.(error);
  };
  worker.on('error', (error) =>
    gone(new Error(`the control plane's thread failed: ${error.message}`)),
  );
  worker.on('exit', (code) =>
    gone(new Error(`the control plane's thread ended (exit code ${code})`)),
  );
  return {
    calls,
    /** Called when the thread dies on its own (not by stop): the process cannot serve half. */
    onEnd(listener: (error: Error) => void) {
      ended = listener;
    },
    /** Its jobs finish and its database closes, then it ends. */
    async stop() {
      ended = undefined;
      await calls.call('shutdown').catch(() => {});
      await worker.terminate();
    },
  };
}
