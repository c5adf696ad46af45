// Every limit Valve enforces, in one place. They bound the work a tenant's rule
// can cause inside a shared server; raising one is a deliberate decision.

/** Characters in a whole permissions file. */
export const MAX_FILE_LENGTH = 1_000_000;
/**
 * Nesting depth of the YAML/JSON structure of a permissions file (a file uses
 * about 4). Checked before the file is composed: the yaml library composes
 * nested collections recursively, and near the stack limit V8 can die compiling
 * a regular expression ('RegExpCompiler Allocation failed - process out of
 * memory') instead of throwing a RangeError.
 */
export const MAX_FILE_DEPTH = 64;
/** Characters in a single pattern such as `user/$id/*`. */
export const MAX_PATTERN_LENGTH = 1024;
/** Characters in one rule expression. */
export const MAX_RULE_LENGTH = 4096;
/** AST nodes in one rule expression; also bounds the steps of one run. */
export const MAX_AST_NODES = 1000;
/** Nesting depth of one rule expression's AST; keeps every recursion shallow. */
export const MAX_AST_DEPTH = 64;
/** Length of a string produced by `+` at run time. */
export const MAX_CONCAT_LENGTH = 65_536;
/** Length of a regular expression built from a string at run time. */
export const MAX_DYNAMIC_REGEX_LENGTH = 1024;
/** RE2 program size (instructions) of one regular expression; `x{1000}` counts 1000 times. */
export const MAX_REGEX_PROGRAM_SIZE = 500;
/** Length of a string match() may search. */
export const MAX_MATCH_INPUT_LENGTH = 65_536;
/**
 * Program size × input length for extracting a match and its groups, the
 * slow part of RE2 (about 150 ns per unit); deciding whether there is a match
 * at all is cheap and always done first.
 */
export const MAX_REGEX_WORK = 200_000;
/** Distinct records one evaluation may load (cross-references plus oldData). */
export const MAX_CROSS_REFERENCES = 32;
/** Runs of one rule, hence dependent load rounds + 1 (deepstream's maxRuleIterations). */
export const DEFAULT_MAX_RULE_ITERATIONS = 3;
/** The highest maxRuleIterations an operator may configure. */
export const MAX_RULE_ITERATIONS_LIMIT = 10;
/** Rules one request can run: the compound record actions run two. */
export const MAX_RULES_PER_REQUEST = 2;
/**
 * Steps (AST node visits) one evaluation may take. With no loops in the
 * language this bound holds by construction; traced evaluations count it.
 */
export const MAX_EVALUATION_STEPS =
  MAX_AST_NODES * MAX_RULE_ITERATIONS_LIMIT * MAX_RULES_PER_REQUEST;
/** Segments in a PATCH path. */
export const MAX_PATCH_PATH_SEGMENTS = 64;
/**
 * Names the rule-choice cache of one permissions file remembers, across all
 * sections and rule types; with MAX_NAME below it bounds the memory per app
 * (about 2 MB at worst) on a node that serves many apps.
 */
export const RULE_CACHE_SIZE = 4096;
/** Names longer than this are matched every time rather than cached. */
export const RULE_CACHE_MAX_NAME_LENGTH = 256;
/** Characters of a value shown in a trace before it is cut. */
export const TRACE_VALUE_MAX_LENGTH = 200;
