// Connections that have not logged in yet, counted on this node per app and
// per client address. They do not hold a place in the app's connection limit
// (that is taken at login), so a crowd of sockets that never log in cannot
// lock out the app's real users; these caps bound the crowd itself. Counted
// per node, in memory: a socket that has not logged in costs only the node it
// is on, and counting it in Redis would cost a round trip per attempt.

export type UnauthenticatedCaps = {
  /** Per app, on this node. */
  perApp: number;
  /** Per client address, across apps, on this node. */
  perAddress: number;
};

/** Why a connection was not let in. */
export type UnauthenticatedRefusal = 'unauthenticated_per_app' | 'unauthenticated_per_address';

/** A counted connection's place; `release` gives it back (at login or close), once. */
export type UnauthenticatedTicket = { release(): void };

/**
 * The key a client address is counted under: an IPv4 address itself (also
 * when IPv4-mapped), an IPv6 address by its /64, the block one subscriber
 * usually holds whole.
 */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** One more under `key` (a count per app or per address; no entry: none). */
export function take(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** One fewer under `key`; the entry goes at zero. */
export function give(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 0) - 1;
  if (left > 0) counts.set(key, left);
  else counts.delete(key);
}

export class UnauthenticatedConnections {
  readonly #caps: () => UnauthenticatedCaps;
  readonly #perApp = new Map<string, number>();
  readonly #perAddress = new Map<string, number>();

  constructor(caps: () => UnauthenticatedCaps) {
    this.#caps = caps;
  }

  /** Counts a new connection, or says which cap it would pass. */
  enter(appId: string, address: string): UnauthenticatedTicket | UnauthenticatedRefusal {
    if (this.addressAtCap(address)) return 'unauthenticated_per_address';
    if ((this.#perApp.get(appId) ?? 0) >= this.#caps().perApp) return 'unauthenticated_per_app';
    take(this.#perApp, appId);
    take(this.#perAddress, address);
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        give(this.#perApp, appId);
        give(this.#perAddress, address);
      },
    };
  }

  /**
   * Whether the address already has as many connections not logged in as it
   * may: `enter` refuses it, and so does the gateway's early refusal at the
   * upgrade (early-refusal.ts).
   */
  addressAtCap(address: string): boolean {
    return (this.#perAddress.get(address) ?? 0) >= this.#caps().perAddress;
  }

  /** Connections of the app not logged in yet on this node. */
  ofApp(appId: string): number {
    return this.#perApp.get(appId) ?? 0;
  }

  /** Connections from the address not logged in yet on this node. */
  ofAddress(address: string): number {
    return this.#perAddress.get(address) ?? 0;
  }
}
