import {
  type ActionPlan,
  isSection,
  type RuleType,
  resolveAction,
  type Section,
} from './actions.js';
import type { EvaluationResult, ValveRequest } from './types.js';
import { userProblem } from './user.js';

// Validation of a request's shape. The realtime node passes typed data, but the
// CLI, the dashboard and fuzzers may not, and evaluate() must never throw.

export const NOT_PERMISSIONED: EvaluationResult = Object.freeze({
  verdict: 'allowed',
  allowed: true,
  rules: Object.freeze([]),
});

export function invalidRequest(message: string): EvaluationResult {
  return {
    verdict: 'error',
    allowed: false,
    rules: [],
    error: { code: 'REQUEST_INVALID', message },
  };
}

/** The request's action plan, or why the request is malformed. */
export function resolveRequest(request: ValveRequest): ActionPlan | string {
  if (typeof request !== 'object' || request === null) return 'the request must be an object';
  const section: unknown = request.section;
  if (!isSection(section))
    return `unknown section ${String(section)}; use record, event, rpc or presence`;
  const action: unknown = request.action;
  if (typeof action !== 'string' && typeof action !== 'number') {
    return 'action must be a rule type, a protocol action name or its number';
  }
  const path: unknown = request.path;
  if (path !== undefined && typeof path !== 'string') return 'path must be a string';
  const plan = resolveAction(section, action, path !== undefined);
  if (plan === undefined) return `unknown action ${String(action)} for section ${section}`;
  const badUser = userProblem(request.user);
  if (badUser !== undefined) return badUser;
  if (request.now !== undefined && typeof request.now !== 'number') return 'now must be a number';
  if (path === undefined && plan.needsPath) return `${plan.name} needs a path`;
  return plan;
}

/** Presence *_ALL queries have no name; everything else must name something (null: it does not). */
export function requestName(
  section: Section,
  plan: ActionPlan,
  name: unknown,
): string | undefined | null {
  if (section === 'presence' && (plan.name === 'QUERY_ALL' || plan.name === 'SUBSCRIBE_ALL')) {
    return undefined;
  }
  return typeof name === 'string' ? name : null;
}

const noRuleResults = new Map<string, EvaluationResult>();

/** The shared denial when no pattern defines the rule type for the name. */
export function noRule(section: Section, type: RuleType): EvaluationResult {
  const key = `${section}:${type}`;
  let result = noRuleResults.get(key);
  if (result === undefined) {
    const outcome = Object.freeze({ section, pattern: null, type, verdict: 'denied' as const });
    result = Object.freeze({ verdict: 'denied', allowed: false, rules: Object.freeze([outcome]) });
    noRuleResults.set(key, result);
  }
  return result;
}
