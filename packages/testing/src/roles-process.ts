import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from '../../../test/deployment-files.ts';
import type { Exited } from './process.ts';
import { guardProcess } from './process-guard.ts';

// Runs one of the production roles (`pnpm start:control-plane`,
// `start:realtime`, `start:worker`) as a real process, the way the root
// scripts do: node on the role's built main.js (`pnpm build`; the
// integration tests' global setup builds what changed). A test may give the
// exact command line and directory instead (the image's, in a deployed copy).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type Role = 'control-plane' | 'realtime' | 'worker';

/** The file each root script runs (checked against package.json by the roles test). */
export const ROLE_ENTRY: Record<Role, string> = {
  'control-plane': 'apps/control-plane/dist/main.js',
  realtime: 'apps/realtime/dist/main.js',
  worker: 'apps/worker/dist/main.js',
};

/** The command line of a root script (`exec node ...`), and the directory it runs in. */
export type Command = { argv: string[]; cwd: string };
export const roleCommand = (role: Role): Command => ({
  argv: ['node', ...nodeFlags(role), ROLE_ENTRY[role]],
  cwd: ROOT,
});

export type LogEntry = Record<string, unknown>;

export type RunningRole = {
  role: Role;
  child: ChildProcess;
  logs: LogEntry[];
  /** Resolves with the first log line (already written or still to come) that matches. */
  waitForLog(match: (entry: LogEntry) => boolean): Promise<LogEntry>;
  /** Resolves once the role logs that it listens, with its URL. */
  listening: Promise<string>;
  /**
   * Sends the signal to the process (that one PID) and resolves with the
   * exit code; SIGKILL goes to its whole process group.
   */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

function killGroup(child: ChildProcess) {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function spawnRole(env: Record<string, string>, command: Command): ChildProcess {
  const [bin = 'node', ...args] = command.argv;
  const child = spawn(bin, args, {
    cwd: command.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HTTP_PORT: '0',
      REALTIME_PORT: '0',
      WORKER_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  guardProcess(child, { group: true });
  return child;
}

/** Starts a role; `listening` resolves once it is up (rejects if it exits first). */
export function startRole(
  role: Role,
  env: Record<string, string>,
  command: Command = roleCommand(role),
): RunningRole {
  const child = spawnRole(env, command);
  const logs: LogEntry[] = [];
  const waiters: { match: (entry: LogEntry) => boolean; resolve: (entry: LogEntry) => void }[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      entry = { msg: line };
    }
    logs.push(entry);
    for (const waiter of [...waiters]) {
      if (!waiter.match(entry)) continue;
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(entry);
    }
  });
  const waitForLog = (match: (entry: LogEntry) => boolean) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogEntry>((resolve) => waiters.push({ match, resolve }));
  };
  const listening = Promise.race([
    waitForLog((entry) => entry.listening !== undefined).then(
      (entry) => Object.values(entry.listening as Record<string, string>)[0] as string,
    ),
    exited.then(([code]) => {
      throw new Error(`${role} exited with ${code} before it listened: ${stderr}`);
    }),
  ]);
  listening.catch(() => {}); // reported to whoever awaits it
  return {
    role,
    child,
    logs,
    waitForLog,
    listening,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      if (signal === 'SIGKILL') killGroup(child);
      else child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** Runs a role until it exits by itself (for start-up failures). */
export async function runRoleUntilExit(
  role: Role,
  env: Record<string, string>,
  command: Command = roleCommand(role),
): Promise<Exited> {
  const child = spawnRole(env, command);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const [code] = await once(child, 'exit');
  return { code: code as number | null, stdout, stderr };
}
