import type { ClusterBus, JobQueue } from '@hubstream/cluster';
import type { Config } from '@hubstream/config';
import type { Database } from '@hubstream/db';
import type { Logger } from '@hubstream/service';
import type { AppChanges } from './lib/app-changes.ts';
import type { RealtimeDataTransport } from './lib/realtime-transport.ts';

/** What every route needs, handed to the route plugins by buildApp. */
export type ControlPlaneContext = {
  config: Config;
  db: Database;
  bus: ClusterBus;
  jobs: JobQueue;
  logger: Logger;
  /**
   * How the data browser reaches a realtime node's HTTP data API. Unset:
   * over HTTP at REALTIME_INTERNAL_URL (or the public realtime URL). The
   * standalone process hands its own realtime node's, in-process.
   */
  realtimeData?: RealtimeDataTransport;
};

/** What buildApp hands the route plugins: the context and what it builds from it. */
export type RouteContext = ControlPlaneContext & {
  /** The one way to change an app and announce it (lib/app-changes.ts). */
  appChanges: AppChanges;
};

export const SESSION_COOKIE = 'hs_session';
export const SESSION_TOKEN_PREFIX = 'hss_';
export const API_KEY_PREFIX = 'hsk_';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
