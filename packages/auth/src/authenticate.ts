import { emailStrategy } from './email.ts';
import { openStrategy } from './open.ts';
import type { Strategy, StrategyContext, StrategyName } from './strategy.ts';
import type { AuthResult } from './types.ts';
import { webhookStrategy } from './webhook.ts';

const STRATEGIES: Record<StrategyName, Strategy> = {
  open: openStrategy,
  email: emailStrategy,
  webhook: webhookStrategy,
};

const enabled = (name: StrategyName, context: StrategyContext) =>
  name === 'open'
    ? context.settings.openEnabled
    : name === 'email'
      ? context.settings.emailEnabled
      : context.settings.webhookEnabled;

const isStrategy = (value: unknown): value is StrategyName =>
  value === 'open' || value === 'email' || value === 'webhook';

/**
 * deepstreamHub style: `authData.type` names the strategy. Without it the
 * enabled strategies are tried in the app's order and the first verdict wins.
 */
export async function authenticate(
  authData: Record<string, unknown>,
  context: StrategyContext,
): Promise<AuthResult> {
  const requested = authData.type;
  let names: StrategyName[];
  if (requested !== undefined) {
    if (!isStrategy(requested) || !enabled(requested, context)) {
      return {
        ok: false,
        clientData: { error: 'AUTH_TYPE_NOT_ENABLED' },
        reason: 'type_not_enabled',
      };
    }
    names = [requested];
  } else {
    names = (context.settings.strategyOrder as StrategyName[]).filter(
      (n) => isStrategy(n) && enabled(n, context),
    );
  }
  for (const name of names) {
    let verdict: Awaited<ReturnType<Strategy>>;
    try {
      verdict = await STRATEGIES[name](authData, context);
    } catch (error) {
      context.log.error({ err: error, app: context.appId, strategy: name }, 'auth strategy failed');
      return { ok: false, clientData: { error: 'AUTH_FAILED' }, reason: 'strategy_error' };
    }
    if (verdict.kind === 'allow')
      return { ok: true, user: verdict.user, clientData: verdict.clientData };
    if (verdict.kind === 'deny')
      return { ok: false, clientData: verdict.clientData, reason: verdict.reason ?? 'rejected' };
  }
  const none = names.length === 0;
  return {
    ok: false,
    clientData: { error: none ? 'NO_AUTH_STRATEGY_ENABLED' : 'INVALID_AUTH_DATA' },
    reason: none ? 'no_strategy_enabled' : 'invalid_auth_data',
  };
}
