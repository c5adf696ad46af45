import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { nodeFlags } from '../../../test/deployment-files.ts';
import { freePort } from './free-port.ts';
import { guardProcess } from './process-guard.ts';

// Runs the built `apps/standalone/dist/main.js` as a real process, as
// `pnpm start` does, with its node flags (the image's too; checked by
// test/deployment-files.ts). The integration tests' global setup builds it.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type RunningHubstream = {
  child: ChildProcess;
  controlPlaneUrl: string;
  realtimeUrl: string;
  logs: Record<string, unknown>[];
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
};

export type Exited = { code: number | null; stdout: string; stderr: string };

export function spawnHubstream(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    [...nodeFlags('standalone'), 'apps/standalone/dist/main.js'],
    {
      cwd: ROOT,
      // Plain ws:// and http:// unless a test asks for TLS (pnpm start's own
      // default, TLS_SELF_SIGNED=auto, is tested in tls.int.test.ts).
      env: {
        PATH: process.env.PATH ?? '',
        HTTP_PORT: '0',
        REALTIME_PORT: '0',
        TLS_SELF_SIGNED: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    },
  );
  guardProcess(child, { group: true });
  return child;
}

/**
 * Starts Hubstream and resolves once it logs that both servers are up.
 * `freePorts` names port variables to set to a free port each: a port found
 * free can be taken by another test before the process binds it, so a start
 * that fails with EADDRINUSE is tried again (up to three times) on new ports.
 */
export async function startHubstream(
  env: Record<string, string>,
  options: { freePorts?: string[] } = {},
): Promise<RunningHubstream> {
  const names = options.freePorts ?? [];
  for (let attempt = 1; ; attempt++) {
    const ports: Record<string, string> = {};
    for (const name of names) ports[name] = String(await freePort());
    try {
      return await startOnce({ ...env, ...ports });
    } catch (error) {
      const taken = names.length > 0 && String(error).includes('EADDRINUSE');
      if (!taken || attempt >= 3) throw error;
    }
  }
}

async function startOnce(env: Record<string, string>): Promise<RunningHubstream> {
  const child = spawnHubstream(env);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = once(child, 'exit');
  const up = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.listening) resolve(entry);
    });
    // The process logs its start-up error as JSON on stdout: show the last
    // lines with stderr, so a failed start says why.
    exited.then(([code]) => {
      const tail = logs.slice(-5).map((entry) => JSON.stringify(entry));
      reject(new Error(`exited with ${code} before start: ${[stderr, ...tail].join('\n')}`));
    });
  });
  const entry = await up;
  const listening = entry.listening as { controlPlaneUrl: string; realtimeUrl: string };
  return {
    child,
    logs,
    controlPlaneUrl: listening.controlPlaneUrl,
    realtimeUrl: listening.realtimeUrl,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** Runs Hubstream until it exits by itself (for start-up failures). */
export async function runUntilExit(env: Record<string, string>): Promise<Exited> {
  const child = spawnHubstream(env);
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

/** The HTTP form of a realtime ws:// URL, for its health routes. */
export function httpOf(url: string): string {
  return url.replace(/^ws/, 'http');
}
