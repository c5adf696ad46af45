// The unsafe baseline: each rule compiled with `new Function` and run the way
// deepstream runs it per message (rule cache keyed by section, name and type;
// an argument array with Date.now(); fn.apply({}, args); strict true).
// This is the only place in the repository where `new Function` is allowed.

type RuleFn = (...args: unknown[]) => unknown;

interface BaselineRule {
  readonly pattern: string;
  readonly regexp: RegExp;
  readonly fn: RuleFn;
}

interface Chosen {
  readonly fn: RuleFn;
  readonly vars: readonly string[];
}

const PARAMS = ['_', 'user', 'data', 'oldData', 'now', 'action', 'name'];

export function compileBaselineFn(rule: boolean | string, variables: readonly string[]): RuleFn {
  if (typeof rule === 'boolean') return () => rule;
  return new Function(...PARAMS, ...variables, `return ${rule};`) as RuleFn;
}

export class Baseline {
  private readonly rules = new Map<string, BaselineRule[]>();
  private readonly cache = new Map<string, Chosen | null>();

  constructor(
    file: Record<string, Record<string, Record<string, boolean | string>>>,
    private readonly records: ReadonlyMap<string, unknown>,
  ) {
    for (const [section, patterns] of Object.entries(file)) {
      for (const [pattern, types] of Object.entries(patterns)) {
        const variables = pattern.match(/\$[a-zA-Z0-9]+/g) ?? [];
        const source = pattern.replace(/\*/g, '.*').replace(/\$[a-zA-Z0-9]+/g, '([^/]+)');
        for (const [type, rule] of Object.entries(types)) {
          const key = `${section}:${type}`;
          const list = this.rules.get(key) ?? [];
          list.push({
            pattern,
            regexp: new RegExp(`^${source}$`),
            fn: compileBaselineFn(rule, variables),
          });
          this.rules.set(key, list);
        }
      }
    }
  }

  private readonly crossReference = (name: unknown): unknown =>
    this.records.get(String(name)) ?? null;

  private choose(section: string, type: string, name: string): Chosen | null {
    let best: BaselineRule | undefined;
    for (const rule of this.rules.get(`${section}:${type}`) ?? []) {
      if (
        (best === undefined || rule.pattern.length >= best.pattern.length) &&
        rule.regexp.test(name)
      )
        best = rule;
    }
    if (best === undefined) return null;
    return { fn: best.fn, vars: (best.regexp.exec(name) ?? []).slice(1) };
  }

  evaluate(
    section: string,
    type: string,
    name: string,
    user: unknown,
    data: unknown,
    oldData: unknown,
    action: number,
  ): boolean {
    const key = `${section}_${name}_${type}`;
    let chosen = this.cache.get(key);
    if (chosen === undefined) {
      chosen = this.choose(section, type, name);
      this.cache.set(key, chosen);
    }
    if (chosen === null) return false;
    const args = [
      this.crossReference,
      user,
      data,
      oldData,
      Date.now(),
      action,
      name,
      ...chosen.vars,
    ];
    return chosen.fn.apply({}, args) === true;
  }

  /** The bare function and arguments, for the expression-only comparison. */
  prepared(
    section: string,
    type: string,
    name: string,
    user: unknown,
    data: unknown,
    oldData: unknown,
    action: number,
  ): () => boolean {
    const chosen = this.choose(section, type, name);
    if (chosen === null) throw new Error(`no baseline rule for ${section} ${type} ${name}`);
    const { fn } = chosen;
    const args = [
      this.crossReference,
      user,
      data,
      oldData,
      Date.now(),
      action,
      name,
      ...chosen.vars,
    ];
    return () => fn(...args) === true;
  }
}
