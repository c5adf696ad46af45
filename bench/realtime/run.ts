// Realtime benchmark: Hubstream's realtime node against a bare `ws` server
// doing the same work with no auth, no rules and no persistence (the
// physical baseline), in the same run, over 127.0.0.1. Not a test: it prints
// tables. Each server runs in a child process of its own; this process is
// the load generator.
//
//   pnpm bench:realtime [--seconds=5] [--only=fan-out,memory] [--profile] ...
//   pnpm bench:realtime --help        (every flag and its default)
//
// Phases, each measured against the baseline, then Hubstream:
//   1 fan-out      10 publishers -> 100 subscribers of one name, closed loop
//   2 one-to-one   100 publisher/subscriber pairs on 100 names, closed loop
//   3 half-rate    phases 1 and 2 paced at half the baseline's maximum
//   4 records      one writer per record, subscribers holding every record
//   5 rpc          requestors -> providers of one RPC, closed loop
//   6 memory       idle logged-in connections at 1k, 5k, 10k
// Hubstream's app has open auth and one Valve rule on every emit
// (server-hubstream.ts).

import './protobuf-interop.ts';

// The bench proper lives in main.ts: it is imported only once the module
// hooks above are in place, as static imports would load the codec first.
await import('./main.ts');
