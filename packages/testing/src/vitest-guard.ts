import { afterAll } from 'vitest';
import { killLeftovers } from './process-guard.ts';

// The Vitest side of process-guard.ts: a test file that imports the
// package's main entry gets its leftover processes killed after its own
// clean-up (after-hooks run in reverse order of registration: this one,
// registered when the file imports the package, runs last).

afterAll(killLeftovers);
