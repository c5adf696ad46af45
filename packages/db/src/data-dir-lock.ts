import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

// PGlite keeps its database in files that only one process may open. A second
// Hubstream started on the same DATA_DIR would corrupt it, so the first one
// takes this lock and the second is refused with a clear message.

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
}

export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'hubstream.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return async () => {
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(
          `DATA_DIR ${dir} is in use by another Hubstream process (pid ${pid}). Stop it, or set DATA_DIR to another directory.`,
        );
      }
      // Left behind by a process that is gone: take it over.
      await rm(file, { force: true });
    }
  }
  throw new DataDirLockedError(`Could not lock DATA_DIR ${dir}.`);
}
