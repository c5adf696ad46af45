// Sections, rule types and the protocol actions that trigger them (VALVE.md A.1, A.5).
// Action numbers are deepstream's protobuf enums (v4+), so rules that compare
// `action` against a number keep working.

export const SECTIONS = ['record', 'event', 'rpc', 'presence'] as const;
export type Section = (typeof SECTIONS)[number];

export const RULE_TYPES = {
  record: ['create', 'read', 'write', 'delete', 'listen', 'notify'],
  event: ['publish', 'subscribe', 'listen'],
  rpc: ['provide', 'request'],
  presence: ['allow'],
} as const satisfies Record<Section, readonly string[]>;

export type RuleType = (typeof RULE_TYPES)[Section][number];

interface DataSupport {
  readonly data: boolean;
  readonly oldData: boolean;
}

const NONE: DataSupport = { data: false, oldData: false };

/** Which rule types may reference `data` and `oldData` (B.3 items 8 and 9). */
const DATA_SUPPORT: Record<Section, Partial<Record<RuleType, DataSupport>>> = {
  record: {
    create: NONE,
    read: { data: false, oldData: true },
    write: { data: true, oldData: true },
    delete: { data: false, oldData: true },
    listen: NONE,
    notify: NONE,
  },
  event: { publish: { data: true, oldData: false }, subscribe: { data: true, oldData: false } },
  rpc: { request: { data: true, oldData: false } },
  presence: {},
};

export function dataSupport(section: Section, type: RuleType): DataSupport {
  return DATA_SUPPORT[section][type] ?? NONE;
}

const SECTION_SET: ReadonlySet<unknown> = new Set(SECTIONS);
const RULE_TYPE_SETS: Record<Section, ReadonlySet<unknown>> = {
  record: new Set(RULE_TYPES.record),
  event: new Set(RULE_TYPES.event),
  rpc: new Set(RULE_TYPES.rpc),
  presence: new Set(RULE_TYPES.presence),
};

export function isSection(value: unknown): value is Section {
  return SECTION_SET.has(value);
}

export function isRuleType(section: Section, value: unknown): value is RuleType {
  return RULE_TYPE_SETS[section].has(value);
}

/** One rule run for a request; compound actions have two. */
export interface RuleStep {
  readonly type: RuleType;
  /** The protobuf action the rule sees as `action`. */
  readonly action: number;
  readonly actionName: string;
  /** `data` is the stored record with the request's patch applied. */
  readonly patch: boolean;
  /** Run only when the record does not exist (the CREATE of SUBSCRIBECREATEANDREAD). */
  readonly onlyIfMissing: boolean;
}

/** How a request is permissioned: the steps in order; none means not permissioned. */
export interface ActionPlan {
  readonly name: string;
  readonly code: number;
  readonly steps: readonly RuleStep[];
  /** A step applies a patch, so the request must carry a path. */
  readonly needsPath: boolean;
}

type StepSpec = readonly [RuleType, string, ('patch' | 'ifMissing')?];
type PlanSpec = readonly [code: number, steps: readonly StepSpec[]];

const RECORD: Record<string, PlanSpec> = {
  NOTIFY: [2, [['notify', 'NOTIFY']]],
  READ: [3, [['read', 'READ']]],
  HEAD: [5, [['read', 'HEAD']]],
  HEAD_BULK: [7, [['read', 'HEAD_BULK']]],
  DELETE: [9, [['delete', 'DELETE']]],
  DELETE_BULK: [11, [['delete', 'DELETE_BULK']]],
  CREATE: [15, [['create', 'CREATE']]],
  CREATEANDUPDATE: [
    16,
    [
      ['create', 'CREATE'],
      ['write', 'UPDATE'],
    ],
  ],
  CREATEANDPATCH: [
    17,
    [
      ['create', 'CREATE'],
      ['write', 'PATCH', 'patch'],
    ],
  ],
  UPDATE: [18, [['write', 'UPDATE']]],
  PATCH: [19, [['write', 'PATCH', 'patch']]],
  ERASE: [20, [['delete', 'ERASE']]],
  SUBSCRIBEANDHEAD: [21, [['read', 'SUBSCRIBEANDHEAD']]],
  SUBSCRIBEANDREAD: [22, [['read', 'SUBSCRIBEANDREAD']]],
  SUBSCRIBECREATEANDREAD: [
    23,
    [
      ['create', 'CREATE', 'ifMissing'],
      ['read', 'READ'],
    ],
  ],
  SUBSCRIBE: [25, [['read', 'SUBSCRIBE']]],
  UNSUBSCRIBE: [26, []],
  LISTEN: [27, [['listen', 'LISTEN']]],
  UNLISTEN: [28, []],
  LISTEN_ACCEPT: [29, []],
  LISTEN_REJECT: [30, []],
};

const EVENT: Record<string, PlanSpec> = {
  EMIT: [2, [['publish', 'EMIT']]],
  SUBSCRIBE: [3, [['subscribe', 'SUBSCRIBE']]],
  UNSUBSCRIBE: [4, []],
  LISTEN: [5, [['listen', 'LISTEN']]],
  UNLISTEN: [6, []],
  LISTEN_ACCEPT: [7, []],
  LISTEN_REJECT: [8, []],
};

const RPC: Record<string, PlanSpec> = {
  REQUEST: [2, [['request', 'REQUEST']]],
  ACCEPT: [4, []],
  RESPONSE: [5, []],
  REJECT: [6, []],
  REQUEST_ERROR: [7, []],
  PROVIDE: [8, [['provide', 'PROVIDE']]],
  UNPROVIDE: [9, []],
};

const PRESENCE: Record<string, PlanSpec> = {
  QUERY_ALL: [2, [['allow', 'QUERY_ALL']]],
  QUERY: [4, [['allow', 'QUERY']]],
  SUBSCRIBE: [10, [['allow', 'SUBSCRIBE']]],
  UNSUBSCRIBE: [11, []],
  SUBSCRIBE_ALL: [12, [['allow', 'SUBSCRIBE_ALL']]],
  UNSUBSCRIBE_ALL: [13, []],
};

/** The action a bare rule type stands for, when a request names a rule type. */
const RULE_TYPE_ACTION: Record<Section, Partial<Record<RuleType, string>>> = {
  record: {
    create: 'CREATE',
    read: 'READ',
    write: 'UPDATE',
    delete: 'DELETE',
    listen: 'LISTEN',
    notify: 'NOTIFY',
  },
  event: { publish: 'EMIT', subscribe: 'SUBSCRIBE', listen: 'LISTEN' },
  rpc: { provide: 'PROVIDE', request: 'REQUEST' },
  presence: { allow: 'QUERY' },
};

const SPECS: Record<Section, Record<string, PlanSpec>> = {
  record: RECORD,
  event: EVENT,
  rpc: RPC,
  presence: PRESENCE,
};

function buildPlans(section: Section): {
  byName: Map<string, ActionPlan>;
  byCode: Map<number, ActionPlan>;
} {
  const specs = SPECS[section];
  const code = (name: string): number => specs[name]?.[0] ?? -1;
  const byName = new Map<string, ActionPlan>();
  const byCode = new Map<number, ActionPlan>();
  for (const [name, [actionCode, stepSpecs]] of Object.entries(specs)) {
    const steps = stepSpecs.map(
      ([type, actionName, flag]): RuleStep => ({
        type,
        action: code(actionName),
        actionName,
        patch: flag === 'patch',
        onlyIfMissing: flag === 'ifMissing',
      }),
    );
    const plan: ActionPlan = {
      name,
      code: actionCode,
      steps,
      needsPath: steps.some((s) => s.patch),
    };
    byName.set(name, plan);
    byCode.set(actionCode, plan);
  }
  return { byName, byCode };
}

const PLANS = {
  record: buildPlans('record'),
  event: buildPlans('event'),
  rpc: buildPlans('rpc'),
  presence: buildPlans('presence'),
};

/**
 * Resolves a request's action: a rule type (`write`), a protocol action name
 * (`CREATEANDUPDATE`) or its protobuf number. A rule type `write` with a path
 * means PATCH. Returns undefined for an action the section does not know.
 */
export function resolveAction(
  section: Section,
  action: string | number,
  hasPath: boolean,
): ActionPlan | undefined {
  const plans = PLANS[section];
  if (typeof action === 'number') return plans.byCode.get(action);
  if (isRuleType(section, action)) {
    const name =
      section === 'record' && action === 'write' && hasPath
        ? 'PATCH'
        : RULE_TYPE_ACTION[section][action];
    return name === undefined ? undefined : plans.byName.get(name);
  }
  return plans.byName.get(action);
}

/** All protocol action names of a section, for messages. */
export function actionNames(section: Section): string[] {
  return [...PLANS[section].byName.keys()];
}
