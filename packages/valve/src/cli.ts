import { readFileSync } from 'node:fs';
import type { ValveCheckError } from './errors.js';
import { check, compilePermissions } from './permissions.js';
import type { ValveLoaders, ValveRequest } from './types.js';

// `valve check FILE` and `valve simulate --rules FILE --request REQUEST.json
// [--records RECORDS.json]`. Exit codes: 0 done, 1 the file has errors,
// 2 bad arguments or unreadable input.

const USAGE = `usage:
  valve check FILE
  valve simulate --rules FILE --request REQUEST.json [--records RECORDS.json]`;

/** A problem with the command line or its input files: exit 2. */
class UsageError extends Error {}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new UsageError(`cannot read ${what} ${file}: ${reason}`);
  }
}

function readJson(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${what} ${file} is not valid JSON: ${reason}`);
  }
}

function formatError(file: string, error: ValveCheckError): string {
  return `${file}:${error.line}:${error.column} ${error.code} ${error.message.replace(/\s*\n\s*/g, ' ')}`;
}

function runCheck(args: readonly string[]): number {
  const [file, ...rest] = args;
  if (file === undefined || rest.length > 0 || file.startsWith('-')) {
    throw new UsageError('check takes exactly one FILE');
  }
  const report = check(readText(file, 'permissions file'));
  if (report.ok) {
    const { patterns, rules } = report.stats;
    process.stdout.write(`${file}: valid, ${patterns} patterns, ${rules} rules\n`);
    return 0;
  }
  for (const error of report.errors) process.stdout.write(`${formatError(file, error)}\n`);
  const count = report.errors.length;
  process.stderr.write(`${file}: ${count} error${count === 1 ? '' : 's'}\n`);
  return 1;
}

function parseFlags(args: readonly string[], allowed: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag === undefined || !allowed.includes(flag))
      throw new UsageError(`unknown argument ${arg}`);
    const value = inline ?? args[++i];
    if (value === undefined || value.length === 0) throw new UsageError(`${flag} needs a file`);
    if (flags.has(flag)) throw new UsageError(`${flag} is given twice`);
    flags.set(flag, value);
  }
  return flags;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function runSimulate(args: readonly string[]): Promise<number> {
  const flags = parseFlags(args, ['--rules', '--request', '--records']);
  const rulesFile = flags.get('--rules');
  const requestFile = flags.get('--request');
  if (rulesFile === undefined || requestFile === undefined) {
    throw new UsageError('simulate needs --rules FILE and --request REQUEST.json');
  }
  const compiled = compilePermissions(readText(rulesFile, 'permissions file'));
  if (!compiled.ok) {
    const lines = compiled.errors.map((e) => formatError(rulesFile, e));
    throw new UsageError(`${lines.join('\n')}\n${rulesFile} is not a valid permissions file`);
  }
  const raw = readJson(requestFile, 'request');
  if (!isObject(raw)) throw new UsageError(`request ${requestFile} must be a JSON object`);
  const recordsFile = flags.get('--records');
  const records = recordsFile === undefined ? {} : readJson(recordsFile, 'records');
  if (!isObject(records)) {
    throw new UsageError(`records ${recordsFile} must map record names to their data`);
  }
  // In a request file, a missing oldData means the record does not exist.
  const request = {
    ...raw,
    oldData: 'oldData' in raw ? raw.oldData : null,
  } as unknown as ValveRequest;
  const loaders: ValveLoaders = {
    loadRecord: (name) => (Object.hasOwn(records, name) ? records[name] : null),
  };
  const result = await compiled.permissions.evaluate(request, loaders, { trace: true });
  if (result.error?.code === 'REQUEST_INVALID') {
    throw new UsageError(`request ${requestFile}: ${result.error.message}`);
  }
  const output = {
    allowed: result.allowed,
    verdict: result.verdict,
    rules: result.rules,
    trace: result.trace ?? [],
    ...(result.error === undefined ? {} : { error: result.error }),
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (command === 'check') return runCheck(args);
    if (command === 'simulate') return await runSimulate(args);
    throw new UsageError(command === undefined ? 'no command given' : `unknown command ${command}`);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`valve: ${error.message}\n${USAGE}\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `valve: internal error: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 3;
  },
);
