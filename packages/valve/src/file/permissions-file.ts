import {
  type CST,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Parser,
  parseDocument,
  type Scalar,
  type Node as YamlNode,
} from 'yaml';
import {
  isRuleType,
  isSection,
  RULE_TYPES,
  type RuleType,
  SECTIONS,
  type Section,
} from '../actions.js';
import type { CheckErrorCode } from '../errors.js';
import { MAX_FILE_DEPTH, MAX_FILE_LENGTH, MAX_RULE_LENGTH } from '../limits.js';
import { patternProblem } from '../pattern.js';
import { type OffsetMap, type ScalarStyle, scalarOffsets } from './scalar-offsets.js';

// Reads a permissions file (YAML, or JSON, which YAML parses) into sections,
// patterns and rules with their offsets, reporting every structural problem.

export interface SourceRule {
  readonly type: RuleType;
  readonly value: boolean | string;
  readonly start: number;
  readonly end: number;
  /** Expression index → file offset, for string rules. */
  readonly offsets: OffsetMap;
}

export interface SourcePattern {
  readonly pattern: string;
  readonly start: number;
  readonly end: number;
  readonly rules: readonly SourceRule[];
}

export type SourceFile = Record<Section, readonly SourcePattern[]>;

export interface FileProblem {
  readonly code: CheckErrorCode;
  readonly message: string;
  readonly start: number;
  readonly end: number;
  readonly path: readonly string[];
}

// Anchors and aliases are allowed, but expanding them may not multiply the file.
const MAX_EXPANDED_ENTRIES = 100_000;

interface Entry {
  readonly key: string | undefined;
  readonly keyNode: YamlNode;
  readonly value: YamlNode | null;
}

class Reader {
  readonly problems: FileProblem[] = [];
  private expanded = 0;

  constructor(
    private readonly text: string,
    private readonly doc: Document,
  ) {}

  problem(
    code: CheckErrorCode,
    message: string,
    node: YamlNode | null | undefined,
    path: readonly string[],
  ): void {
    const [start, end] = node?.range ?? [0, 1];
    this.problems.push({ code, message, start, end: Math.max(end, start + 1), path });
  }

  resolve(node: unknown): YamlNode | null {
    if (isAlias(node)) {
      const target = node.resolve(this.doc);
      return target ?? null;
    }
    return (node as YamlNode | null) ?? null;
  }

  /** A mapping's entries with `<<` merge keys expanded; explicit keys win. */
  entries(map: YamlNode, path: readonly string[]): Entry[] {
    if (!isMap(map)) return [];
    const own: Entry[] = [];
    const merged: Entry[] = [];
    for (const pair of map.items) {
      if (++this.expanded > MAX_EXPANDED_ENTRIES) {
        this.problem('FILE_TOO_LARGE', 'the file expands to too many entries', map, path);
        return own;
      }
      const keyNode = pair.key as YamlNode;
      const value = this.resolve(pair.value);
      if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
        const sources = isSeq(value) ? value.items.map((item) => this.resolve(item)) : [value];
        for (const source of sources) {
          if (source !== null && isMap(source)) merged.push(...this.entries(source, path));
        }
        continue;
      }
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      own.push({ key, keyNode, value });
    }
    const ownKeys = new Set(own.map((e) => e.key));
    return [...own, ...merged.filter((e) => !ownKeys.has(e.key))];
  }

  readRule(section: Section, pattern: string, entry: Entry): SourceRule | undefined {
    const path = [section, pattern, entry.key ?? '?'];
    if (!isRuleType(section, entry.key)) {
      this.problem(
        'RULE_TYPE_UNKNOWN',
        `unknown rule type ${entry.key ?? '(not a name)'} in section ${section}; ${section} rules are ${RULE_TYPES[section].join(', ')}`,
        entry.keyNode,
        path,
      );
      return undefined;
    }
    const node = entry.value;
    const value: unknown = isScalar(node) ? node.value : undefined;
    if (typeof value !== 'boolean' && typeof value !== 'string') {
      this.problem(
        'RULE_INVALID_VALUE',
        'a rule must be true, false or an expression string',
        node ?? entry.keyNode,
        path,
      );
      return undefined;
    }
    const scalar = node as Scalar;
    const [start, end] = scalar.range ?? [0, 0];
    if (typeof value === 'string') {
      if (value.length === 0) {
        this.problem('RULE_EMPTY', "a rule can't be empty", scalar, path);
        return undefined;
      }
      if (value.length > MAX_RULE_LENGTH) {
        this.problem(
          'RULE_TOO_LONG',
          `a rule may have at most ${MAX_RULE_LENGTH} characters`,
          scalar,
          path,
        );
        return undefined;
      }
    }
    const offsets =
      typeof value === 'string'
        ? scalarOffsets(this.text, scalar.type as ScalarStyle | undefined, start, end, value)
        : (i: number) => start + i;
    return { type: entry.key, value, start, end, offsets };
  }

  readSection(section: Section, entry: Entry): SourcePattern[] {
    const node = entry.value;
    if (node === null || !isMap(node)) {
      this.problem(
        'SECTION_INVALID',
        `section ${section} must map patterns to rules`,
        node ?? entry.keyNode,
        [section],
      );
      return [];
    }
    const patterns: SourcePattern[] = [];
    const entries = this.entries(node, [section]);
    for (const patternEntry of entries) {
      const pattern = patternEntry.key;
      const path = [section, pattern ?? '?'];
      const problem =
        pattern === undefined ? 'a pattern must be a string' : patternProblem(pattern);
      if (problem !== undefined || pattern === undefined) {
        this.problem(
          'PATTERN_INVALID',
          `${problem} (pattern ${pattern ?? '?'} in section ${section})`,
          patternEntry.keyNode,
          path,
        );
        continue;
      }
      const rulesNode = patternEntry.value;
      if (rulesNode === null || !isMap(rulesNode)) {
        this.problem(
          'RULES_NOT_OBJECT',
          `pattern ${pattern} in section ${section} must map rule types to rules`,
          rulesNode ?? patternEntry.keyNode,
          path,
        );
        continue;
      }
      const rules: SourceRule[] = [];
      for (const ruleEntry of this.entries(rulesNode, path)) {
        const rule = this.readRule(section, pattern, ruleEntry);
        if (rule !== undefined) rules.push(rule);
      }
      const [start, end] = patternEntry.keyNode.range ?? [0, 0];
      patterns.push({ pattern, start, end, rules });
    }
    if (entries.length === 0) {
      this.problem('SECTION_INVALID', `empty section ${section}`, entry.keyNode, [section]);
    } else if (!entries.some((e) => e.key === '*')) {
      this.problem(
        'ROOT_PATTERN_MISSING',
        `missing root entry "*" for section ${section}`,
        entry.keyNode,
        [section],
      );
    }
    return patterns;
  }
}

/** First line of a YAML parser message, without its own position suffix. */
/**
 * The offset of the first collection nested deeper than MAX_FILE_DEPTH, or
 * undefined. Walks the yaml library's concrete syntax tree (its parser keeps an
 * explicit stack) without recursion, so that parseDocument, which composes
 * collections recursively, only ever sees shallow files.
 */
function tooDeepAt(text: string): number | undefined {
  const pending: [CST.Token | undefined, number][] = [];
  for (const token of new Parser().parse(text)) pending.push([token, 0]);
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [token, depth] = next;
    if (!token) continue;
    if (token.type === 'document') pending.push([token.value, depth]);
    else if (
      token.type === 'block-map' ||
      token.type === 'block-seq' ||
      token.type === 'flow-collection'
    ) {
      if (depth >= MAX_FILE_DEPTH) return token.offset;
      for (const item of token.items) {
        if ('key' in item) pending.push([item.key ?? undefined, depth + 1]);
        pending.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

function yamlMessage(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export function readPermissionsFile(text: string): {
  file: SourceFile | undefined;
  problems: FileProblem[];
} {
  if (text.length > MAX_FILE_LENGTH) {
    const problem: FileProblem = {
      code: 'FILE_TOO_LARGE',
      message: `a permissions file may have at most ${MAX_FILE_LENGTH} characters`,
      start: 0,
      end: 1,
      path: [],
    };
    return { file: undefined, problems: [problem] };
  }
  const deep = tooDeepAt(text);
  if (deep !== undefined) {
    const problem: FileProblem = {
      code: 'FILE_TOO_LARGE',
      message: `a permissions file may nest at most ${MAX_FILE_DEPTH} levels deep`,
      start: deep,
      end: Math.min(deep + 1, Math.max(text.length, 1)),
      path: [],
    };
    return { file: undefined, problems: [problem] };
  }
  const doc = parseDocument(text, { merge: true, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map(
      (e): FileProblem => ({
        code: 'FILE_SYNTAX',
        message: `${e.code === 'DUPLICATE_KEY' ? 'duplicate key' : 'invalid YAML/JSON'}: ${yamlMessage(e.message)}`,
        start: e.pos[0],
        end: Math.max(e.pos[1], e.pos[0] + 1),
        path: [],
      }),
    );
    return { file: undefined, problems };
  }
  const reader = new Reader(text, doc);
  const root = reader.resolve(doc.contents);
  if (root === null || !isMap(root)) {
    const type = root === null ? 'empty' : isSeq(root) ? 'a list' : 'a single value';
    reader.problem(
      'FILE_NOT_OBJECT',
      `a permissions file must be a mapping of sections, but it is ${type}`,
      root,
      [],
    );
    return { file: undefined, problems: reader.problems };
  }
  const file: Record<Section, SourcePattern[]> = { record: [], event: [], rpc: [], presence: [] };
  const seen = new Set<string>();
  for (const entry of reader.entries(root, [])) {
    if (!isSection(entry.key)) {
      reader.problem(
        'SECTION_UNKNOWN',
        `unexpected configuration section "${entry.key ?? '?'}"; sections are ${SECTIONS.join(', ')}`,
        entry.keyNode,
        [entry.key ?? '?'],
      );
      continue;
    }
    seen.add(entry.key);
    file[entry.key] = reader.readSection(entry.key, entry);
  }
  for (const section of SECTIONS) {
    if (!seen.has(section)) {
      const [start] = root.range ?? [0];
      reader.problems.push({
        code: 'SECTION_MISSING',
        message: `missing configuration section "${section}"`,
        start,
        end: start + 1,
        path: [section],
      });
    }
  }
  return { file, problems: reader.problems };
}
