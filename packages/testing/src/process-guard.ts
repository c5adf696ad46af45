import type { ChildProcess } from 'node:child_process';

// Processes a test (or a bench) starts must not outlive it. A test that
// fails or times out never reaches its own stop(), and Vitest may end a
// worker without running its 'exit' handlers, so whatever a test file left
// running is killed after the file's own clean-up (vitest-guard.ts, loaded
// by the package's vitest entry, registers `killLeftovers` as an after-all
// hook), and again on exit. Detached children lead a process group of their
// own (tsx runs the server in a child of its own): the whole group is
// killed. This module does not import vitest: benches use it too.

const running = new Set<ChildProcess>();
const groups = new Set<ChildProcess>();

/** Kills `child` (and its process group when detached) if it is still running at the end. */
export function guardProcess(child: ChildProcess, options: { group: boolean }): void {
  if (options.group) groups.add(child);
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    groups.delete(child);
  });
}

/** Kills every guarded process still running. */
export function killLeftovers(): void {
  for (const child of running) {
    try {
      if (!child.pid) continue;
      process.kill(groups.has(child) ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', killLeftovers);
