/**
 * Every error Valve can report, as a closed table. Check-time codes come with a
 * source range; run-time codes end an evaluation with the `error` verdict
 * (MESSAGE_PERMISSION_ERROR on the wire). Adding a code means adding it here,
 * so the control plane and the realtime node can map codes exhaustively.
 */
export const VALVE_ERROR_CODES = {
  // The file as a whole.
  FILE_TOO_LARGE: 'check',
  FILE_SYNTAX: 'check',
  FILE_NOT_OBJECT: 'check',
  OPTION_INVALID: 'check',
  SECTION_MISSING: 'check',
  SECTION_UNKNOWN: 'check',
  SECTION_INVALID: 'check',
  ROOT_PATTERN_MISSING: 'check',
  PATTERN_INVALID: 'check',
  RULES_NOT_OBJECT: 'check',
  RULE_TYPE_UNKNOWN: 'check',
  RULE_INVALID_VALUE: 'check',
  RULE_EMPTY: 'check',
  RULE_TOO_LONG: 'check',
  // One rule expression.
  EXPR_SYNTAX: 'check',
  EXPR_ASSIGNMENT: 'check',
  EXPR_NEW: 'check',
  EXPR_FUNCTION: 'check',
  EXPR_TEMPLATE_LITERAL: 'check',
  EXPR_COMMA: 'check',
  EXPR_STATEMENT: 'check',
  EXPR_FORBIDDEN_OPERATOR: 'check',
  EXPR_UNKNOWN_IDENTIFIER: 'check',
  EXPR_UNKNOWN_VARIABLE: 'check',
  EXPR_FORBIDDEN_MEMBER: 'check',
  EXPR_UNKNOWN_FUNCTION: 'check',
  EXPR_ARGUMENT_COUNT: 'check',
  EXPR_REGEX_PLACEMENT: 'check',
  EXPR_REGEX_INVALID: 'check',
  EXPR_DATA_NOT_AVAILABLE: 'check',
  EXPR_OLD_DATA_NOT_AVAILABLE: 'check',
  EXPR_TOO_DEEP: 'check',
  EXPR_TOO_COMPLEX: 'check',
  // One evaluation.
  REQUEST_INVALID: 'runtime',
  RUNTIME_TYPE_ERROR: 'runtime',
  RUNTIME_CROSS_REFERENCE_TYPE: 'runtime',
  RUNTIME_CROSS_REFERENCE_LIMIT: 'runtime',
  RUNTIME_LOADER_MISSING: 'runtime',
  RUNTIME_LOAD_ERROR: 'runtime',
  RUNTIME_LOAD_ROUNDS_EXCEEDED: 'runtime',
  RUNTIME_STRING_TOO_LONG: 'runtime',
  RUNTIME_REGEX_INVALID: 'runtime',
  RUNTIME_REGEX_LIMIT: 'runtime',
  RUNTIME_PATCH_MISSING_RECORD: 'runtime',
  RUNTIME_PATCH_INVALID_PATH: 'runtime',
  RUNTIME_STEP_LIMIT: 'runtime',
  RUNTIME_INTERNAL: 'runtime',
} as const;

export type ValveErrorCode = keyof typeof VALVE_ERROR_CODES;

export type CheckErrorCode = {
  [K in ValveErrorCode]: (typeof VALVE_ERROR_CODES)[K] extends 'check' ? K : never;
}[ValveErrorCode];

export type RuntimeErrorCode = Exclude<ValveErrorCode, CheckErrorCode>;

/** A problem in a permissions file, positioned so an editor can underline it (1-based). */
export interface ValveCheckError {
  code: CheckErrorCode;
  message: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Where in the file: section, pattern and rule type, as far as known. */
  path: readonly string[];
}

/** Why an evaluation ended with the `error` verdict. */
export interface ValveRuntimeError {
  code: RuntimeErrorCode;
  message: string;
}

/**
 * Thrown inside an evaluation and caught at the evaluation's edge; never
 * escapes the public API.
 */
export class RuleError extends Error {
  readonly code: RuntimeErrorCode;
  constructor(code: RuntimeErrorCode, message: string) {
    super(message);
    this.name = 'RuleError';
    this.code = code;
  }
}

/** Thrown by the expression parser and checker; carries offsets inside the expression. */
export class ExpressionError extends Error {
  readonly code: CheckErrorCode;
  readonly start: number;
  readonly end: number;
  constructor(code: CheckErrorCode, message: string, start: number, end: number) {
    super(message);
    this.name = 'ExpressionError';
    this.code = code;
    this.start = start;
    this.end = end;
  }
}

/** Turns anything thrown during an evaluation into a runtime error; the one edge for that. */
export function toRuntimeError(thrown: unknown): ValveRuntimeError {
  if (thrown instanceof RuleError) return { code: thrown.code, message: thrown.message };
  // Native TypeErrors come from operators on JSON values (e.g. an object whose
  // own `toString` key is not a function); they are the rule's fault, not ours.
  if (thrown instanceof TypeError) return { code: 'RUNTIME_TYPE_ERROR', message: thrown.message };
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return { code: 'RUNTIME_INTERNAL', message: `unexpected failure: ${message}` };
}
