import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The little SQL surface the migration runner and health checks need, over
 * either driver. Parameters use Postgres' $1 placeholders on both.
 */
export interface SqlSession {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a script of several statements (no parameters). */
  exec(script: string): Promise<void>;
}

/**
 * A session over one client (the migration runner's, which holds an advisory
 * lock) or over a pool: then each query takes whichever client is free.
 */
export function pgSession(client: pg.ClientBase | pg.Pool): SqlSession {
  return {
    async query<Row>(text: string, params: unknown[] = []) {
      const result = await client.query(text, params);
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
