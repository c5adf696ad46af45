// Valve: Hubstream's permission language. Parse, check and compile a
// permissions file once, then evaluate requests against it.

export {
  type ActionPlan,
  actionNames,
  RULE_TYPES,
  type RuleType,
  resolveAction,
  SECTIONS,
  type Section,
} from './actions.js';
export {
  type CheckErrorCode,
  type RuntimeErrorCode,
  VALVE_ERROR_CODES,
  type ValveCheckError,
  type ValveErrorCode,
  type ValveRuntimeError,
} from './errors.js';
export {
  type CompiledRegex,
  compileRegex,
  type RegexResult,
} from './expression/regex.js';
export * as limits from './limits.js';
export {
  type CheckReport,
  type CompileOptions,
  type CompileResult,
  check,
  compilePermissions,
  type PermissionStats,
  Permissions,
} from './permissions.js';
export {
  isTemplateName,
  TEMPLATE_NAMES,
  TEMPLATES,
  type Template,
  type TemplateName,
} from './templates.js';
export type {
  EvaluateOptions,
  EvaluationResult,
  LoginStrategy,
  RuleOutcome,
  TraceEntry,
  ValveLoaders,
  ValveRequest,
  ValveUser,
  Verdict,
} from './types.js';
export { createUser } from './user.js';
