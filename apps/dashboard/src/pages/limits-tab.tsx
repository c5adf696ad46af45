import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, api, type LimitName, type Limits } from '../api.ts';
import {
  Button,
  ErrorMessage,
  Field,
  formatDate,
  Loading,
  Notice,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { LIMIT_FIELDS, limitInputProblem, limitValue } from '../lib/limits.ts';

// The app's own limits over the platform defaults (GET/PUT /apps/:id/limits).
// An empty field is the default; a number is the app's own value.

type Inputs = Record<LimitName, string>;

const inputsOf = (limits: Limits): Inputs =>
  Object.fromEntries(
    LIMIT_FIELDS.map(({ name }) => [name, limits[name] === null ? '' : String(limits[name])]),
  ) as Inputs;

export function LimitsTab({ appId }: { appId: string }) {
  const limits = useAsync(() => api<Limits>('GET', `/apps/${appId}/limits`), [appId]);
  if (limits.status === 'loading') return <Loading label="Loading limits…" />;
  if (limits.status === 'error')
    return <ErrorMessage error={limits.error} onRetry={limits.reload} />;
  return <LimitsForm appId={appId} limits={limits.data} onSaved={limits.set} />;
}

function LimitsForm({
  appId,
  limits,
  onSaved,
}: {
  appId: string;
  limits: Limits;
  onSaved(limits: Limits): void;
}) {
  const [inputs, setInputs] = useState<Inputs>(() => inputsOf(limits));
  const [errors, setErrors] = useState<Partial<Record<LimitName, string>>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const { busy, error, run, setError } = useAction();
  useEffect(() => setInputs(inputsOf(limits)), [limits]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setNotice(null);
    const found: Partial<Record<LimitName, string>> = {};
    const body: Partial<Record<LimitName, number | null>> = {};
    for (const { name } of LIMIT_FIELDS) {
      const problem = limitInputProblem(inputs[name], limits.maxima[name]);
      if (problem) found[name] = problem;
      else body[name] = limitValue(inputs[name]);
    }
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setError(new Error('Some limits are not valid: see the fields marked below.'));
      return;
    }
    await run(async () => {
      try {
        onSaved(await api<Limits>('PUT', `/apps/${appId}/limits`, body));
        setNotice('Saved. Every realtime node applies the new limits at once.');
      } catch (failure) {
        // The server checks too; its problems name the field (/maxConnections).
        if (failure instanceof ApiError && failure.code === 'VALIDATION_FAILED') {
          const fromServer: Partial<Record<LimitName, string>> = {};
          for (const detail of failure.details as { path?: string; message?: string }[]) {
            const name = detail.path?.replace(/^\//, '') as LimitName | undefined;
            if (name && LIMIT_FIELDS.some((f) => f.name === name))
              fromServer[name] = detail.message ?? 'Not a valid value.';
          }
          setErrors(fromServer);
        }
        throw failure;
      }
    });
  };

  return (
    <form onSubmit={submit} noValidate aria-label="App limits" className="stack">
      <p className="hint">
        How much this app may use. Leave a field empty for the platform default (shown beside it).
        Changes reach every realtime node at once; open connections above a lowered connection limit
        stay connected.
        {limits.updatedAt ? ` Last changed ${formatDate(limits.updatedAt)}.` : ''}
      </p>
      {notice ? <Notice>{notice}</Notice> : null}
      <ErrorMessage error={error} />
      {(['app', 'connection'] as const).map((group) => (
        <fieldset key={group} className="card limits-group">
          <legend>{group === 'app' ? 'The whole app' : 'Each connection'}</legend>
          <div className="grid-2">
            {LIMIT_FIELDS.filter((f) => f.group === group).map(({ name, label, description }) => (
              <Field
                key={name}
                label={label}
                inputMode="numeric"
                autoComplete="off"
                value={inputs[name]}
                placeholder={`Default: ${limits.defaults[name]}`}
                onChange={(e) => setInputs({ ...inputs, [name]: e.target.value })}
                error={errors[name]}
                hint={
                  <>
                    {description} Default {limits.defaults[name].toLocaleString()}; in force now{' '}
                    <strong data-testid={`effective-${name}`}>
                      {limits.effective[name].toLocaleString()}
                    </strong>
                    .
                  </>
                }
              />
            ))}
          </div>
        </fieldset>
      ))}
      <div className="actions">
        <Button type="submit" variant="primary" busy={busy}>
          Save limits
        </Button>
        <Button
          onClick={() => {
            setInputs(inputsOf(limits));
            setErrors({});
            setError(null);
          }}
        >
          Undo changes
        </Button>
      </div>
    </form>
  );
}
