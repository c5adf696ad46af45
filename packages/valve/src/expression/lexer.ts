import { ExpressionError } from '../errors.js';

export type TokenKind = 'number' | 'string' | 'regex' | 'name' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Punctuator or identifier text; the decoded string for strings. */
  readonly text: string;
  readonly number: number;
  readonly flags: string;
  readonly start: number;
  readonly end: number;
}

// Longest first, so `>>>=` wins over `>>`.
const PUNCTUATORS = [
  '>>>=',
  '...',
  '===',
  '!==',
  '**=',
  '<<=',
  '>>=',
  '>>>',
  '&&=',
  '||=',
  '??=',
  '=>',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '??',
  '?.',
  '++',
  '--',
  '+=',
  '-=',
  '*=',
  '/=',
  '%=',
  '&=',
  '|=',
  '^=',
  '**',
  '<<',
  '>>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '.',
  ',',
  ';',
  ':',
  '?',
  '~',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '=',
  '&',
  '|',
  '^',
];

// After these keywords an expression starts, so `/` opens a regex literal.
const OPERAND_EXPECTED_AFTER = new Set(['typeof', 'in', 'instanceof', 'new', 'delete', 'void']);

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean =>
  (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === '$';
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c);
const isWhitespace = (c: string): boolean =>
  c === ' ' ||
  c === '\t' ||
  c === '\n' ||
  c === '\r' ||
  c === '\v' ||
  c === '\f' ||
  c === '\u00a0' ||
  c === '\ufeff' ||
  c === '\u2028' ||
  c === '\u2029';

function syntax(message: string, start: number, end: number): ExpressionError {
  return new ExpressionError('EXPR_SYNTAX', message, start, end);
}

function token(
  kind: TokenKind,
  text: string,
  start: number,
  end: number,
  num = 0,
  flags = '',
): Token {
  return { kind, text, number: num, flags, start, end };
}

/** Splits a rule expression into tokens; throws ExpressionError on the first bad character. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.kind === 'punct') return prev.text !== ')' && prev.text !== ']' && prev.text !== '}';
    if (prev.kind === 'name') return OPERAND_EXPECTED_AFTER.has(prev.text);
    return false;
  };
  while (pos < source.length) {
    const c = source[pos]!;
    if (isWhitespace(c)) {
      pos++;
      continue;
    }
    if (c === '/' && source[pos + 1] === '/') {
      while (pos < source.length && source[pos] !== '\n' && source[pos] !== '\r') pos++;
      continue;
    }
    if (c === '/' && source[pos + 1] === '*') {
      const close = source.indexOf('*/', pos + 2);
      if (close < 0) throw syntax('unterminated comment', pos, source.length);
      pos = close + 2;
      continue;
    }
    const start = pos;
    if (isDigit(c) || (c === '.' && isDigit(source[pos + 1] ?? ''))) {
      pos = readNumber(source, pos, tokens);
    } else if (c === '"' || c === "'") {
      pos = readString(source, pos, tokens);
    } else if (c === '`') {
      throw new ExpressionError(
        'EXPR_TEMPLATE_LITERAL',
        'template literals are not allowed in rules; use + to join strings',
        start,
        start + 1,
      );
    } else if (isIdentStart(c)) {
      while (pos < source.length && isIdentPart(source[pos]!)) pos++;
      tokens.push(token('name', source.slice(start, pos), start, pos));
    } else if (c === '/' && regexAllowed()) {
      pos = readRegex(source, pos, tokens);
    } else {
      const punct = PUNCTUATORS.find((p) => source.startsWith(p, pos));
      // `a?.5:b` is a conditional, not optional chaining.
      const text = punct === '?.' && isDigit(source[pos + 2] ?? '') ? '?' : punct;
      if (text === undefined) {
        const shown = c === '\\' ? 'escape sequences in identifiers' : `character '${c}'`;
        throw syntax(`unexpected ${shown}`, start, start + 1);
      }
      pos += text.length;
      tokens.push(token('punct', text, start, pos));
    }
  }
  tokens.push(token('eof', '', source.length, source.length));
  return tokens;
}

function readNumber(source: string, start: number, tokens: Token[]): number {
  let pos = start;
  let value: number;
  const radixPrefix = source[pos] === '0' ? (source[pos + 1] ?? '').toLowerCase() : '';
  if (radixPrefix === 'x' || radixPrefix === 'o' || radixPrefix === 'b') {
    const radix = radixPrefix === 'x' ? 16 : radixPrefix === 'o' ? 8 : 2;
    pos += 2;
    const digitsStart = pos;
    while (pos < source.length && /[0-9a-fA-F_]/.test(source[pos]!)) pos++;
    const digits = source.slice(digitsStart, pos).replaceAll('_', '');
    value = digits.length === 0 ? Number.NaN : Number.parseInt(digits, radix);
    if (Number.isNaN(value) || [...digits].some((d) => Number.parseInt(d, 16) >= radix)) {
      throw syntax('invalid number literal', start, pos);
    }
  } else {
    if (source[pos] === '0' && isDigit(source[pos + 1] ?? '')) {
      throw syntax('legacy octal literals are not allowed', start, pos + 2);
    }
    while (pos < source.length && (isDigit(source[pos]!) || source[pos] === '_')) pos++;
    if (source[pos] === '.') {
      pos++;
      while (pos < source.length && (isDigit(source[pos]!) || source[pos] === '_')) pos++;
    }
    if (source[pos] === 'e' || source[pos] === 'E') {
      pos++;
      if (source[pos] === '+' || source[pos] === '-') pos++;
      if (!isDigit(source[pos] ?? '')) throw syntax('invalid number literal', start, pos);
      while (pos < source.length && isDigit(source[pos]!)) pos++;
    }
    const text = source.slice(start, pos);
    if (text.startsWith('_') || text.endsWith('_') || text.includes('__')) {
      throw syntax('invalid numeric separator', start, pos);
    }
    value = Number(text.replaceAll('_', ''));
  }
  if (source[pos] === 'n') throw syntax('BigInt literals are not supported', start, pos + 1);
  if (pos < source.length && isIdentPart(source[pos]!)) {
    throw syntax('an identifier cannot follow a number directly', start, pos + 1);
  }
  tokens.push(token('number', source.slice(start, pos), start, pos, value));
  return pos;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  v: '\v',
};

function readString(source: string, start: number, tokens: Token[]): number {
  const quote = source[start]!;
  let pos = start + 1;
  let out = '';
  for (;;) {
    if (pos >= source.length) throw syntax('unterminated string', start, source.length);
    const c = source[pos]!;
    if (c === quote) break;
    if (c === '\n' || c === '\r') throw syntax('unterminated string', start, pos);
    if (c !== '\\') {
      out += c;
      pos++;
      continue;
    }
    const e = source[pos + 1] ?? '';
    const escStart = pos;
    pos += 2;
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === '0' && !isDigit(source[pos] ?? '')) out += '\0';
    else if (isDigit(e)) throw syntax('octal escape sequences are not allowed', escStart, pos);
    else if (e === 'x') {
      const hex = source.slice(pos, pos + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw syntax('invalid \\x escape', escStart, pos);
      out += String.fromCharCode(Number.parseInt(hex, 16));
      pos += 2;
    } else if (e === 'u') {
      let hex: string;
      if (source[pos] === '{') {
        const close = source.indexOf('}', pos);
        hex = close < 0 ? '' : source.slice(pos + 1, close);
        pos = close < 0 ? pos : close + 1;
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) {
          throw syntax('invalid \\u escape', escStart, pos);
        }
      } else {
        hex = source.slice(pos, pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw syntax('invalid \\u escape', escStart, pos);
        pos += 4;
      }
      out += String.fromCodePoint(Number.parseInt(hex, 16));
    } else if (e === '\r') {
      if (source[pos] === '\n') pos++;
    } else if (e !== '\n' && e !== '\u2028' && e !== '\u2029') out += e;
  }
  tokens.push(token('string', out, start, pos + 1));
  return pos + 1;
}

function readRegex(source: string, start: number, tokens: Token[]): number {
  let pos = start + 1;
  let inClass = false;
  for (;;) {
    const c = source[pos];
    if (c === undefined || c === '\n' || c === '\r') {
      throw syntax('unterminated regular expression', start, pos);
    }
    if (c === '\\') pos += 2;
    else {
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) break;
      pos++;
    }
  }
  const body = source.slice(start + 1, pos);
  pos++;
  const flagsStart = pos;
  while (pos < source.length && isIdentPart(source[pos]!)) pos++;
  tokens.push(token('regex', body, start, pos, 0, source.slice(flagsStart, pos)));
  return pos;
}
