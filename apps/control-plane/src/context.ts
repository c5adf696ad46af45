import type { ClusterBus, JobQueue } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import type { Logger } from '@hubstream/service';

/** What every route needs, handed to the route plugins by buildApp. */
export type ControlPlaneContext = {
  config: Config;
  db: Database;
  bus: ClusterBus;
  jobs: JobQueue;
  logger: Logger;
};

export const SESSION_COOKIE = 'hs_session';
export const SESSION_TOKEN_PREFIX = 'hss_';
export const API_KEY_PREFIX = 'hsk_';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
