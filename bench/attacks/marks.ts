// The attack windows of a bench:attacks run's output (--trace-marks): each
// attack's start and end on CLOCK_MONOTONIC seconds, under its row's heading.
// probe-waits.ts and turn-gaps.ts line their recordings up with them.

/** An attack window: the row it belongs to, and when the attack started and ended. */
export type AttackWindow = { row: string; start: number; end: number };

/** The windows in the order the run printed them; none without --trace-marks. */
export function attackWindows(log: string): AttackWindow[] {
  const windows: AttackWindow[] = [];
  let row = '';
  for (const line of log.split('\n')) {
    const heading = line.match(/^ {2}(\S.*) …$/);
    if (heading) row = heading[1]!;
    const mark = line.match(/attack (start|end).*monotonic ([\d.]+)/);
    if (mark?.[1] === 'start') windows.push({ row, start: Number(mark[2]), end: Number.NaN });
    else if (mark && windows.length > 0) windows.at(-1)!.end = Number(mark[2]);
  }
  return windows;
}
