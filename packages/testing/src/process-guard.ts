import type { ChildProcess } from 'node:child_process';
import { afterAll } from 'vitest';

// Processes a test starts must not outlive it. A test that fails or times
// out never reaches its own stop(), and Vitest may end a worker without
// running its 'exit' handlers, so whatever a test file left running is
// killed after the file's own clean-up (after-hooks run in reverse order of
// registration: this module's, registered at import, runs last), and again
// on exit. Detached children lead a process group of their own (tsx runs
// the server in a child of its own): the whole group is killed.

const running = new Set<ChildProcess>();

/** Kills `child` (and its process group when detached) if it is still running at the end. */
export function guardProcess(child: ChildProcess, options: { group: boolean }): void {
  if (options.group) groups.add(child);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    groups.delete(child);
  });
}

const groups = new Set<ChildProcess>();

function killLeftovers() {
  for (const child of running) {
    try {
      if (!child.pid) continue;
      process.kill(groups.has(child) ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

afterAll(killLeftovers);
process.on('exit', killLeftovers);
