#!/usr/bin/env node
// Runs the TypeScript CLI from source through tsx, as the rest of the repo does.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
