// Test helpers shared by the tests of every app and package (issue 16):
// processes started from the shipped entry points, free ports, an SMTP
// mailbox, TLS clients, one polling `until`, `api()` for HTTP, the official
// client (`Clients`), a TCP balancer, a raw protocol wire, Redis and
// realtime processes for fault tests. Nothing here imports an app; the
// in-process compositions of the apps are in `@hubstream/testing/apps`.
// For tests only: no src/ imports this package.

// The helpers themselves are in core.ts (`@hubstream/testing/core`, which
// loads no Vitest); this entry adds the after-all hook that kills what a
// test file left running, so tests import this one.

import './vitest-guard.ts';

export * from './core.ts';
