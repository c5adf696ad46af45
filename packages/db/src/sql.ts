import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The little SQL surface the migration runner and health checks need, over
 * either driver. Parameters use Postgres' $1 placeholders on both.
 */
export interface SqlSession {
  /**
   * `name`: keep the statement prepared under this name on each connection
   * that runs it, so later runs skip its parse and plan (about half the
   * server's time for a one-row statement). The same name must always come
   * with the same text. PGlite ignores it.
   */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    name?: string,
  ): Promise<Row[]>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
}

/**
 * A session over one client (the migration runner's, which holds an advisory
 * lock) or over a pool: then each query takes whichever client is free.
 */
export function pgSession(client: pg.ClientBase | pg.Pool): SqlSession {
  return {
    async query<Row>(text: string, params: unknown[] = [], name?: string) {
      const result = await client.query(
        name === undefined ? { text, values: params } : { name, text, values: params },
      );
      return result.rows as Row[];
    },
    async exec(script: string) {
      await client.query(script);
    },
  };
}

export function pgliteSession(db: PGlite): SqlSession {
  return {
    async query<Row>(text: string, params: unknown[] = []) {
      const result = await db.query<Row>(text, params);
      return result.rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
  };
}
