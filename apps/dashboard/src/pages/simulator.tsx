import {
  compilePermissions,
  createUser,
  type EvaluationResult,
  type LoginStrategy,
  RULE_TYPES,
  SECTIONS,
  type Section,
} from '@hubstream/valve';
import { type FormEvent, useId, useState } from 'react';
import { Button, ErrorMessage, Field, TextArea } from '../components/ui.tsx';
import { parseJsonObject, parseJsonValue } from '../lib/forms.ts';
import { traceLines } from '../lib/trace.ts';

// Runs a request against the rules in the editor (saved or not) with Valve's
// own evaluator, in the browser, and shows the verdict and the trace.

/** The id a login through `strategy` would have: open ids carry `open:` (README "Auth"). */
function simulatedUserId(typed: string, strategy: LoginStrategy): string {
  const id = typed.trim();
  if (strategy !== 'open') return id || 'anonymous';
  if (!id) return 'open:anonymous';
  return id.startsWith('open:') ? id : `open:${id}`;
}

export function Simulator({ rules }: { rules: string }) {
  const [section, setSection] = useState<Section>('record');
  const [action, setAction] = useState<string>('write');
  const [name, setName] = useState('');
  const [userId, setUserId] = useState('');
  // How the user logged in: open users are never authenticated and their ids start with open:.
  const [strategy, setStrategy] = useState<LoginStrategy>('email');
  const [serverData, setServerData] = useState('{}');
  const [data, setData] = useState('');
  const [oldData, setOldData] = useState('');
  const [records, setRecords] = useState('{}');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<EvaluationResult | null>(null);
  const sectionId = useId();
  const actionId = useId();

  const run = async (event: FormEvent) => {
    event.preventDefault();
    setResult(null);
    setError(null);
    const found: Record<string, string> = {};
    const server = parseJsonObject(serverData);
    const payload = parseJsonValue(data);
    const previous = parseJsonValue(oldData);
    const loaded = parseJsonObject(records);
    if (!server.ok) found.serverData = server.error;
    if (!payload.ok) found.data = payload.error;
    if (!previous.ok) found.oldData = previous.error;
    if (!loaded.ok) found.records = loaded.error;
    if (section !== 'presence' && !name.trim()) found.name = 'Give a name.';
    setErrors(found);
    if (Object.keys(found).length || !server.ok || !payload.ok || !previous.ok || !loaded.ok)
      return;
    const compiled = compilePermissions(rules);
    if (!compiled.ok) {
      setError(new Error('Fix the errors in the rules first.'));
      return;
    }
    try {
      const user = createUser({
        id: simulatedUserId(userId, strategy),
        isAuthenticated: strategy !== 'open',
        strategy,
        serverData: server.value,
      });
      const table = loaded.value;
      const evaluation = await compiled.permissions.evaluate(
        {
          section,
          action,
          name: name.trim(),
          user,
          ...(payload.value === undefined ? {} : { data: payload.value }),
          ...(previous.value === undefined ? {} : { oldData: previous.value }),
        },
        { loadRecord: (record) => (Object.hasOwn(table, record) ? table[record] : null) },
        { trace: true },
      );
      setResult(evaluation);
    } catch (e) {
      setError(e);
    }
  };

  return (
    <form className="card" onSubmit={run} noValidate aria-label="Simulator">
      <h2>Simulator</h2>
      <p className="hint">
        Tries one request against the rules in the editor above, saved or not. Nothing is sent
        anywhere.
      </p>
      <div className="grid-3">
        <div className="field">
          <label htmlFor={sectionId}>Section</label>
          <select
            id={sectionId}
            value={section}
            onChange={(e) => {
              const next = e.target.value as Section;
              setSection(next);
              setAction(RULE_TYPES[next][0]);
            }}
          >
            {SECTIONS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={actionId}>Action</label>
          <select id={actionId} value={action} onChange={(e) => setAction(e.target.value)}>
            {RULE_TYPES[section].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <Field
          label="Name"
          value={name}
          placeholder={section === 'record' ? 'profile/ada' : 'chat/general'}
          onChange={(e) => setName(e.target.value)}
          error={errors.name}
        />
        <Field
          label="User id"
          value={userId}
          onChange={(e) => setUserId(e.target.value)}
          hint={
            strategy === 'open'
              ? `Rules see user.id = ${JSON.stringify(simulatedUserId(userId, strategy))}: open logins always get the open: prefix.`
              : undefined
          }
        />
        <div className="field">
          <label htmlFor={`${actionId}-strategy`}>Logged in through</label>
          <select
            id={`${actionId}-strategy`}
            value={strategy}
            onChange={(e) => setStrategy(e.target.value as LoginStrategy)}
          >
            <option value="email">email (user.isAuthenticated true)</option>
            <option value="webhook">webhook (user.isAuthenticated true)</option>
            <option value="open">open (user.isAuthenticated false)</option>
          </select>
        </div>
      </div>
      <div className="grid-2">
        <TextArea
          label="User serverData (JSON)"
          rows={3}
          value={serverData}
          onChange={(e) => setServerData(e.target.value)}
          error={errors.serverData}
        />
        <TextArea
          label="data (JSON)"
          rows={3}
          value={data}
          onChange={(e) => setData(e.target.value)}
          error={errors.data}
          hint="The new record data, event data or RPC data. Empty: none."
        />
        <TextArea
          label="oldData (JSON)"
          rows={3}
          value={oldData}
          onChange={(e) => setOldData(e.target.value)}
          error={errors.oldData}
          hint="The stored record. Empty: looked up in the records below (missing means it does not exist)."
        />
        <TextArea
          label="Cross-referenced records (JSON: name → data)"
          rows={3}
          value={records}
          onChange={(e) => setRecords(e.target.value)}
          error={errors.records}
          hint={'What _("name") loads, e.g. {"users/ada": {"role": "admin"}}.'}
        />
      </div>
      <Button type="submit" variant="primary">
        Run simulation
      </Button>
      <ErrorMessage error={error} />
      {result ? (
        <div className="result" data-testid="simulation-result" role="status" aria-live="polite">
          <p className="verdict-line">
            <span className={`verdict verdict-${result.verdict}`}>{result.verdict}</span>
            {result.rules.map((r) => (
              <span key={`${r.type}-${r.pattern}`}>
                {' '}
                by <code>{`${r.section} "${r.pattern ?? '(no pattern)'}" ${r.type}`}</code>
              </span>
            ))}
          </p>
          {result.error ? (
            <p className="field-error">
              {result.error.code}: {result.error.message}
            </p>
          ) : null}
          <h3>Trace</h3>
          <ol className="trace">
            {traceLines(result.trace ?? []).map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the trace is an ordered log
              <li key={i} className={`trace-${result.trace?.[i]?.kind}`}>
                {line}
              </li>
            ))}
          </ol>
        </div>
      ) : null}
    </form>
  );
}
