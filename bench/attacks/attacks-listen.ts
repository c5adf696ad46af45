import { EVENT_ACTION, TOPIC } from '../../packages/protocol/src/index.ts';
import { type Attack, type AttackResult, count, mb, sleep } from './attack.ts';
import { drained, fence, loggedIn, openApp, seconds, subscribe } from './attacks-node.ts';

// Listen patterns a tenant's client sends to a realtime node: patterns a
// backtracking engine would choke on, oversize and invalid ones, and more
// than a connection may hold.

export const listenPatterns: Attack = {
  name: 'listen patterns (ReDoS, oversize, many)',
  target: 'node',
  async prepare(context) {
    const app = await openApp(context, 'listen abuse');
    const attacker = await loggedIn(app.a, 'listener');
    const subscriber = await loggedIn(app.b, 'subscriber');
    const publisher = await loggedIn(app.b, 'fencer');
    await subscribe(subscriber, ['ctl']);
    const many = context.short ? 300 : 2_000;
    // Patterns a regex engine with backtracking would choke on, or that are huge.
    const hostile = [
      { pattern: '^(a+)+$', name: `${'a'.repeat(5_000)}!` },
      { pattern: '^(a|aa)+$', name: `${'a'.repeat(5_000)}!` },
      { pattern: '^(.*a){25}$', name: 'a'.repeat(5_000) },
      { pattern: `^ov/${'(?:x?)'.repeat(20_000)}`, name: 'ov/1' },
      { pattern: `^lit/${'y'.repeat(200_000)}`, name: `lit/${'y'.repeat(200_000)}` },
      { pattern: 'a{1000}{1000}', name: 'a'.repeat(1_000) },
      { pattern: '((((((((((((((((((((x))))))))))))))))))))*', name: 'x' },
      { pattern: '[', name: '[' },
    ];
    return {
      async run(): Promise<AttackResult> {
        const acked = new Set<string>();
        const refused = new Set<string>();
        const found: string[] = [];
        attacker.watch((m) => {
          if (m.topic !== TOPIC.EVENT) return;
          if (m.action === EVENT_ACTION.SUBSCRIPTION_FOR_PATTERN_FOUND) {
            found.push(m.name ?? '');
            // Accept nothing: the subscriber's names stay unprovided.
            attacker.send({
              topic: TOPIC.EVENT,
              action: EVENT_ACTION.LISTEN_REJECT,
              name: m.name ?? '',
              subscription: m.subscription ?? '',
            });
          } else if (m.isAck && m.action === EVENT_ACTION.LISTEN) acked.add(m.name ?? '');
          else if (m.name !== undefined) refused.add(m.name);
        });
        let bytes = 0;
        const listen = (pattern: string) => {
          attacker.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.LISTEN, name: pattern });
          bytes += pattern.length;
        };
        const times: string[] = [];
        for (const h of hostile) {
          listen(h.pattern);
          times.push(seconds(await drained(attacker)));
        }
        const t1 = performance.now();
        for (let i = 0; i < many; i++) listen(`^many${i}/`);
        await attacker.flushed();
        await drained(attacker);
        const manyMs = performance.now() - t1;
        const t2 = performance.now();
        // Names that the hostile patterns (and the last many-pattern) would match.
        const names = [...hostile.map((h) => h.name), `many${many - 1}/x`, 'many0/x'];
        for (const name of names) {
          subscriber.send({ topic: TOPIC.EVENT, action: EVENT_ACTION.SUBSCRIBE, names: [name] });
        }
        await fence(publisher, subscriber, 'ctl');
        const subscribeMs = performance.now() - t2;
        // A pattern the node refused must not be offered a subscription.
        await drained(attacker);
        await sleep(200); // listen offers cross nodes over Redis
        const refusedPatterns = [...hostile.map((h) => h.pattern), `^many${many - 1}/`].filter(
          (p) => refused.has(p) || !acked.has(p),
        );
        const offeredAfterRefusal = found.filter((name) =>
          refusedPatterns.some((p) => {
            const index = hostile.findIndex((h) => h.pattern === p);
            return index >= 0 ? hostile[index]!.name === name : name === `many${many - 1}/x`;
          }),
        ).length;
        const manyAcked = [...acked].filter((p) => p.startsWith('^many')).length;
        const hostileAcked = hostile.filter((h) => acked.has(h.pattern)).length;
        return {
          volume: `${hostile.length} hostile + ${count(many)} patterns (${mb(bytes)})`,
          outcome:
            `${hostileAcked}/${hostile.length} hostile acked, ${manyAcked}/${many} others acked; ` +
            `${found.length} offers; handled in ${times.join(' ')} (each hostile), ` +
            `${seconds(manyMs)} (others), ${seconds(subscribeMs)} (matching subscribes)` +
            (attacker.closed ? `; attacker closed ${attacker.closed.code}` : ''),
          // The oversize and invalid ones must be refused, and the count capped.
          defended:
            !acked.has(hostile[3]!.pattern) &&
            !acked.has(hostile[4]!.pattern) &&
            !acked.has('[') &&
            manyAcked < many,
          stateChanges: offeredAfterRefusal,
        };
      },
      async cleanup() {
        attacker.terminate();
        subscriber.terminate();
        publisher.terminate();
      },
    };
  },
};
