// Logging in to an app (ARCHITECTURE.md): the open, email and webhook
// strategies, the order they are tried in (authenticate), the throttle of
// failed email logins, the webhook client with its signature and the guard
// that keeps it off private addresses. Used by the realtime node (logins)
// and the control plane (the webhook test button, the auth settings'
// address check).

export { isPrivateAddress } from './address-guard.ts';
export { authenticate } from './authenticate.ts';
export { emailStrategy, PASSWORD_CHECKS_BUSY, prepareEmailLogin } from './email.ts';
export {
  addressKey,
  type LoginThrottleSettings,
  type Reservation,
  reserveLogin,
  TOO_MANY_FAILED_LOGINS,
} from './login-throttle.ts';
export { isAnonymous, OPEN_ID_PREFIX, openStrategy } from './open.ts';
export type { Strategy, StrategyContext, StrategyName, Verdict } from './strategy.ts';
export type {
  AuthFailureReason,
  AuthLogger,
  AuthResult,
  ConnectionInfo,
  User,
} from './types.ts';
export {
  FORWARDED_HEADERS,
  forwardedHeaders,
  type SentRequest,
  SIGNATURE_HEADER,
  sign,
  type WebhookContext,
  webhookRequest,
  webhookStrategy,
} from './webhook.ts';
