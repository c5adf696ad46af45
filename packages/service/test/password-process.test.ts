import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PasswordChecksBusyError,
  PasswordProcess,
  PasswordProcessError,
} from '../src/password-process.ts';
import { hashPassword, verifyPassword } from '../src/passwords.ts';

// Password hashing runs in a child process at the lowest priority
// (password-process.ts): the same answers as argon2 in process, a bounded
// queue, a child replaced when it dies, and no child left behind by a parent
// that is killed.

const OPTIONS = { type: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 };
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

const pool = new PasswordProcess({ maxWaiting: 2 });
afterAll(() => {
  if (pool.pid !== undefined && alive(pool.pid)) process.kill(pool.pid, 'SIGKILL');
});

describe('password process', () => {
  it('hashes and verifies as argon2 does, in a child at nice 19', async () => {
    const hash = await hashPassword('right horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, 'right horse')).toBe(true);
    expect(await verifyPassword(hash, 'wrong horse')).toBe(false);
    // A hash argon2 cannot read is a mismatch, not an error.
    expect(await verifyPassword('not-a-hash', 'right horse')).toBe(false);

    await pool.run({ op: 'hash', password: 'x', options: OPTIONS });
    expect(pool.pid).toBeTypeOf('number');
    expect(getPriority(pool.pid)).toBe(19);
  });

  it('refuses a check past its queue bound at once, and runs the rest', async () => {
    const jobs = [0, 1, 2, 3].map((i) =>
      pool.run({ op: 'hash', password: `p${i}`, options: OPTIONS }),
    );
    const settled = await Promise.allSettled(jobs);
    // One runs, two wait, the fourth is refused.
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
    ]);
    expect((settled[3] as PromiseRejectedResult).reason).toBeInstanceOf(PasswordChecksBusyError);
  });

  it('fails the running check when the child dies, and starts a new child for the next', async () => {
    await pool.run({ op: 'hash', password: 'warm', options: OPTIONS });
    const first = pool.pid!;
    const slow = { type: 2, memoryCost: 65_536, timeCost: 20, parallelism: 1 };
    const running = pool.run({ op: 'hash', password: 'slow', options: slow });
    process.kill(first, 'SIGKILL');
    const error = await running.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PasswordProcessError);
    expect((error as PasswordProcessError).source).toBe('process');
    expect(await pool.run({ op: 'hash', password: 'again', options: OPTIONS })).toMatch(
      /^\$argon2id/,
    );
    expect(pool.pid).not.toBe(first);
  });

  it('exits when its parent is killed', async () => {
    // A parent that starts the child, prints its pid, then waits to be killed.
    const source = fileURLToPath(new URL('../src/password-process.ts', import.meta.url));
    const parent = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { PasswordProcess } from ${JSON.stringify(source)};
         const p = new PasswordProcess();
         p.start();
         console.log(p.pid);
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const child = Number(line.toString().trim());
    expect(alive(child)).toBe(true);
    parent.kill('SIGKILL');
    expect(await gone(child, 5_000)).toBe(true);
  });
});
