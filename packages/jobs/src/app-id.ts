import Type from 'typebox';

/**
 * An app id as the control plane makes them (12 lowercase letters and
 * digits). It goes into a SCAN pattern, so glob characters must never pass,
 * and at least 6 characters keeps the job queue's own `hs:bull:` keys out of
 * any app's reach. Never a ':' either: the record key layout relies on it.
 */
export const AppIdSchema = Type.String({ pattern: '^[a-z0-9]{6,64}$' });
