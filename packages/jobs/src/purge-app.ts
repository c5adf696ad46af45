import Type, { type Static } from 'typebox';
import { AppIdSchema } from './app-id.ts';
import { defineContract } from './contract.ts';

export const PURGE_APP_JOB = 'purge-app';

export const PurgeAppPayload = Type.Object({ appId: AppIdSchema }, { additionalProperties: false });

export type PurgeApp = Static<typeof PurgeAppPayload>;

/** What a deleted app left behind; enqueued by the control plane after the delete commits. */
export const purgeAppContract = defineContract({
  name: PURGE_APP_JOB,
  payload: PurgeAppPayload,
  attempts: 8,
  backoffMs: 2_000,
});
