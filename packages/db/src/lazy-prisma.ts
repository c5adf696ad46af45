import type { PrismaClient } from './generated/prisma/client.ts';

// A Prisma client whose module is loaded on first use. Prisma's runtime and
// our generated client are ~0.4 MB of JavaScript that a process compiles and
// runs before it can construct a client: a tenth of a realtime node's start,
// though nothing on the way to ready queries through Prisma (the node's
// schema check goes through the driver). The stand-in answers every use a
// client gets here: `prisma.model.method(args)`, `prisma.$queryRaw…`,
// `prisma.$transaction(fn)` and `prisma.$transaction([query, …])` with
// queries made before the client was there. Once loaded it forwards to the
// real client.

/** What a query made before the client was loaded returns: a lazy thenable, like Prisma's own. */
class DeferredQuery implements PromiseLike<unknown> {
  #started: Promise<unknown> | undefined;
  constructor(
    readonly replay: (client: object) => unknown,
    private readonly client: () => Promise<object>,
  ) {}
  // Prisma's queries run when awaited, not when made, so that a query given
  // to $transaction([…]) runs there, once. The same here.
  // biome-ignore lint/suspicious/noThenProperty: a lazy thenable on purpose, as Prisma's queries are
  then<A = unknown, B = never>(
    onFulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#started ??= this.client().then((client) => this.replay(client));
    return this.#started.then(onFulfilled, onRejected);
  }
  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null) {
    return this.then(undefined, onRejected);
  }
  finally(onFinally?: (() => void) | null) {
    return Promise.resolve(this).finally(onFinally);
  }
  get [Symbol.toStringTag]() {
    return 'PrismaPromise';
  }
}

const replayed = (client: object, value: unknown): unknown => {
  if (value instanceof DeferredQuery) return value.replay(client);
  if (Array.isArray(value)) return value.map((item) => replayed(client, item));
  return value;
};

/** `client.a.b`, each step read from what the last returned, the last a method of the one before. */
function call(client: object, path: readonly PropertyKey[], args: unknown[]): unknown {
  let owner: Record<PropertyKey, unknown> = client as Record<PropertyKey, unknown>;
  for (const key of path.slice(0, -1)) owner = owner[key] as Record<PropertyKey, unknown>;
  const method = owner[path.at(-1)!] as (...a: unknown[]) => unknown;
  return method.apply(
    owner,
    args.map((arg) => replayed(client, arg)),
  );
}

/**
 * `client`: a stand-in for the client `make` resolves with, made on the
 * stand-in's first query, its `$connect()` or `load()`. Its `$disconnect()`
 * does not load the client only to disconnect it.
 */
export function lazyPrisma(make: () => Promise<PrismaClient>): {
  client: PrismaClient;
  load(): Promise<PrismaClient>;
} {
  let real: PrismaClient | undefined;
  let loading: Promise<PrismaClient> | undefined;
  const load = () => {
    if (!loading) {
      loading = make().then((client) => {
        real = client;
        return client;
      });
      // A failed load (a broken install) is tried again by the next query.
      loading.catch(() => {
        loading = undefined;
      });
    }
    return loading;
  };
  const bound = new Map<PropertyKey, unknown>();
  const deferred = (path: PropertyKey[]): unknown =>
    new Proxy(() => {}, {
      get: (_, key) => (key === 'then' ? undefined : deferred([...path, key])),
      apply: (_, __, args: unknown[]) =>
        new DeferredQuery((client) => call(client, path, args), load),
    });
  const client = new Proxy({} as PrismaClient, {
    get(_, key) {
      if (real) {
        const value = Reflect.get(real, key, real) as unknown;
        if (typeof value !== 'function') return value;
        // Called on the stand-in, a method still runs on the client.
        if (!bound.has(key)) bound.set(key, (value as (...a: unknown[]) => unknown).bind(real));
        return bound.get(key);
      }
      // Not a thenable: `await prisma` is the stand-in itself.
      if (key === 'then') return undefined;
      if (key === '$disconnect')
        return async () => {
          const made = await loading?.catch(() => undefined);
          await made?.$disconnect();
        };
      if (key === '$connect') return () => load().then((c) => c.$connect());
      return deferred([key]);
    },
  });
  return { client, load };
}
