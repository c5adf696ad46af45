// A preload for the server under measurement (bench:attacks
// --server-node-flags='--require bench/attacks/turn-gaps.cjs'): records every
// gap of a 1 ms timer longer than 1.3 ms (a stretch the event loop was busy,
// or the process did not run) and every GC pause, on CLOCK_MONOTONIC seconds
// (as --trace-marks prints the attack windows), and writes them as JSON when
// the process exits, to /tmp/turn-gaps-<pid>.json.
// turn-gaps.ts reads them beside the bench's output.
const { writeFileSync } = require('node:fs');
const { PerformanceObserver, performance } = require('node:perf_hooks');

const out = `/tmp/turn-gaps-${process.pid}.json`;
/** [start s, length ms] of each gap. */
const gaps = [];
/** [start s, duration ms, kind] of each GC pause. */
const gcs = [];
const monotonicSeconds = () => Number(process.hrtime.bigint()) / 1e9;
// performance.now() is milliseconds from the process's time origin: this lines it up.
const offset = monotonicSeconds() - performance.now() / 1000;
const at = (ms) => Number((offset + ms / 1000).toFixed(6));

let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > 1.3) gaps.push([at(last), Number((now - last).toFixed(3))]);
  last = now;
}, 1).unref();

new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcs.push([at(entry.startTime), Number(entry.duration.toFixed(3)), entry.detail?.kind]);
  }
}).observe({ entryTypes: ['gc'] });

process.on('exit', () => {
  try {
    writeFileSync(out, JSON.stringify({ gaps, gcs }));
  } catch {
    // Nowhere to write: nothing to report.
  }
});
