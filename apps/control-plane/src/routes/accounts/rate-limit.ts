import type { ControlPlaneContext } from '../../context.ts';

/**
 * @fastify/rate-limit route config for the account routes that guess
 * passwords or send mail. Each route counts on its own, per client address.
 */
export const accountRateLimit = (context: ControlPlaneContext) => ({
  max: context.config.ACCOUNT_RATE_LIMIT_MAX,
  timeWindow: context.config.ACCOUNT_RATE_LIMIT_WINDOW_MS,
});
