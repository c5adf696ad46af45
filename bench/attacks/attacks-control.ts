import { type Attack, sleep } from './attack.ts';

// Rows that attack nothing: they show what the estimators make of the machine
// alone. Not in a default run; --only=idle,idle-burst runs them.

/** The probe's window when nothing happens, as long as the long attacks' (run.ts, LONG ATTACKS). */
export const idleLong: Attack = {
  name: 'nothing sent, 15 s (control row)',
  target: 'node',
  async prepare(context) {
    const windowMs = context.short ? 3_000 : 15_000;
    return {
      async run() {
        await sleep(windowMs);
        return { volume: 'nothing', outcome: `idle ${windowMs / 1000} s`, defended: true };
      },
      async cleanup() {},
    };
  },
};

/** The probe's window when nothing happens, as short as a burst's (measured as bursts are). */
export const idleBurst: Attack = {
  name: 'nothing sent, burst-sized (control row)',
  target: 'node',
  async prepare() {
    return {
      async run() {
        return { volume: 'nothing', outcome: 'idle (one quiet window)', defended: true };
      },
      async cleanup() {},
    };
  },
};
