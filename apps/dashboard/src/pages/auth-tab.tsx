import { type FormEvent, useEffect, useId, useState } from 'react';
import { type AuthSettings, api, type Strategy, type WebhookTestResult } from '../api.ts';
import {
  Button,
  CodeBlock,
  ErrorMessage,
  Field,
  Loading,
  Notice,
  TextArea,
  useAction,
  useAsync,
} from '../components/ui.tsx';
import { checkWebhookUrl, parseHeaders, parseJsonObject, parseStatusCodes } from '../lib/forms.ts';

const LABELS: Record<Strategy, string> = {
  open: 'Open',
  email: 'Email',
  webhook: 'Webhook',
};

type Draft = {
  order: Strategy[];
  open: boolean;
  email: boolean;
  webhook: boolean;
  url: string;
  timeoutMs: string;
  permitted: string;
  retry: string;
  retryAttempts: string;
  retryIntervalMs: string;
  headers: string;
  promote: string;
};

const draftOf = (s: AuthSettings): Draft => ({
  order: s.order,
  open: s.open.enabled,
  email: s.email.enabled,
  webhook: s.webhook.enabled,
  url: s.webhook.url ?? '',
  timeoutMs: String(s.webhook.timeoutMs),
  permitted: s.webhook.permittedStatusCodes.join(', '),
  retry: s.webhook.retryStatusCodes.join(', '),
  retryAttempts: String(s.webhook.retryAttempts),
  retryIntervalMs: String(s.webhook.retryIntervalMs),
  headers: JSON.stringify(s.webhook.headers, null, 2),
  promote: s.webhook.promoteToHeader.join(', '),
});

function intIn(text: string, min: number, max: number, what: string) {
  const n = Number(text);
  return Number.isInteger(n) && n >= min && n <= max
    ? { ok: true as const, value: n }
    : { ok: false as const, error: `${what} must be a whole number from ${min} to ${max}.` };
}

export function AuthTab({ appId }: { appId: string }) {
  const settings = useAsync(() => api<AuthSettings>('GET', `/apps/${appId}/auth`), [appId]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const { busy, error, run, setError } = useAction();
  const [saved, setSaved] = useState(false);
  const loaded = settings.status === 'ok' ? settings.data : null;
  useEffect(() => {
    if (loaded) setDraft(draftOf(loaded));
  }, [loaded]);

  if (settings.status === 'loading' || (settings.status === 'ok' && !draft))
    return <Loading label="Loading auth settings…" />;
  if (settings.status === 'error')
    return <ErrorMessage error={settings.error} onRetry={settings.reload} />;
  if (!draft) return null;
  const current = settings.data;
  const set = (patch: Partial<Draft>) => {
    setSaved(false);
    setDraft({ ...draft, ...patch });
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const found: Record<string, string> = {};
    const body: Record<string, unknown> = {
      order: draft.order,
      open: { enabled: draft.open },
      email: { enabled: draft.email },
    };
    const webhook: Record<string, unknown> = { enabled: draft.webhook };
    if (draft.webhook || draft.url.trim()) {
      const urlError = checkWebhookUrl(draft.url);
      if (urlError) found.url = urlError;
      else webhook.url = draft.url.trim();
    }
    const checks = {
      timeoutMs: intIn(draft.timeoutMs, 100, 30_000, 'The timeout'),
      permittedStatusCodes: parseStatusCodes(draft.permitted, { required: true }),
      retryStatusCodes: parseStatusCodes(draft.retry, { required: false }),
      retryAttempts: intIn(draft.retryAttempts, 0, 10, 'Retry attempts'),
      retryIntervalMs: intIn(draft.retryIntervalMs, 0, 30_000, 'The retry interval'),
      headers: parseHeaders(draft.headers),
    };
    for (const [key, result] of Object.entries(checks)) {
      if (result.ok) webhook[key] = result.value;
      else found[key] = result.error;
    }
    webhook.promoteToHeader = draft.promote
      .split(/[\s,]+/)
      .map((p) => p.trim())
      .filter(Boolean);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      setError(new Error('Some fields need fixing; nothing was saved.'));
      return;
    }
    body.webhook = webhook;
    await run(async () => {
      const updated = await api<AuthSettings>('PUT', `/apps/${appId}/auth`, body);
      settings.status === 'ok' && settings.set(updated);
      setSaved(true);
    });
  };

  const move = (index: number, by: -1 | 1) => {
    const order = [...draft.order];
    const [item] = order.splice(index, 1);
    if (!item) return;
    order.splice(index + by, 0, item);
    set({ order });
  };

  return (
    <form onSubmit={save} noValidate className="stack">
      <div className="card">
        <h2>Strategies</h2>
        <p className="hint">
          A client picks one with <code>authData.type</code>; without it they are tried in this
          order and the first verdict wins.
        </p>
        <ol className="strategy-list">
          {draft.order.map((strategy, index) => (
            <li key={strategy}>
              <Toggle
                label={`${LABELS[strategy]} login`}
                checked={draft[strategy]}
                onChange={(on) => set({ [strategy]: on } as Partial<Draft>)}
                description={
                  strategy === 'open'
                    ? 'Anyone may connect; authData.username becomes the user id.'
                    : strategy === 'email'
                      ? 'Users you add on the Users page log in with email and password.'
                      : 'Your server decides: we POST the authData to your URL.'
                }
              />
              <span className="order-buttons">
                <Button
                  aria-label={`Try ${LABELS[strategy]} earlier`}
                  disabled={index === 0}
                  onClick={() => move(index, -1)}
                >
                  ↑
                </Button>
                <Button
                  aria-label={`Try ${LABELS[strategy]} later`}
                  disabled={index === draft.order.length - 1}
                  onClick={() => move(index, 1)}
                >
                  ↓
                </Button>
              </span>
            </li>
          ))}
        </ol>
      </div>
      <fieldset className="card">
        <legend>Webhook</legend>
        <Field
          label="Webhook URL"
          type="url"
          value={draft.url}
          placeholder="https://example.com/hubstream-auth"
          onChange={(e) => set({ url: e.target.value })}
          error={errors.url}
          hint="Receives POST {authData, connectionData}. A permitted status lets the user in; the JSON reply may carry id, clientData and serverData."
        />
        <div className="grid-2">
          <Field
            label="Permitted status codes"
            value={draft.permitted}
            onChange={(e) => set({ permitted: e.target.value })}
            error={errors.permittedStatusCodes}
          />
          <Field
            label="Retry on status codes"
            value={draft.retry}
            onChange={(e) => set({ retry: e.target.value })}
            error={errors.retryStatusCodes}
          />
          <Field
            label="Timeout (ms)"
            inputMode="numeric"
            value={draft.timeoutMs}
            onChange={(e) => set({ timeoutMs: e.target.value })}
            error={errors.timeoutMs}
          />
          <Field
            label="Retry attempts"
            inputMode="numeric"
            value={draft.retryAttempts}
            onChange={(e) => set({ retryAttempts: e.target.value })}
            error={errors.retryAttempts}
          />
          <Field
            label="Retry interval (ms)"
            inputMode="numeric"
            value={draft.retryIntervalMs}
            onChange={(e) => set({ retryIntervalMs: e.target.value })}
            error={errors.retryIntervalMs}
          />
          <Field
            label="authData fields sent as headers"
            value={draft.promote}
            placeholder="token, tenant"
            onChange={(e) => set({ promote: e.target.value })}
            hint="Also the client's own headers of these names (e.g. cookie, authorization) in connectionData.headers; by default only host, origin, referer, user-agent and accept-language are."
          />
        </div>
        <TextArea
          label="Fixed headers (JSON object)"
          rows={3}
          value={draft.headers}
          onChange={(e) => set({ headers: e.target.value })}
          error={errors.headers}
        />
        {current.webhook.signingSecret ? (
          <p className="hint">
            Requests are signed in the <code>X-Hubstream-Signature</code> header with the secret{' '}
            <code>{current.webhook.signingSecret}</code>.
          </p>
        ) : null}
      </fieldset>
      <ErrorMessage error={error} />
      {saved ? <Notice>Saved. New logins use these settings at once.</Notice> : null}
      <div className="actions">
        <Button type="submit" variant="primary" busy={busy}>
          Save auth settings
        </Button>
      </div>
      {current.webhook.url ? <WebhookTester appId={appId} /> : null}
    </form>
  );
}

function Toggle({
  label,
  description,
  checked,
  onChange,
}: {
  label: string;
  description: string;
  checked: boolean;
  onChange(on: boolean): void;
}) {
  const id = useId();
  return (
    <div className="toggle">
      <input
        id={id}
        type="checkbox"
        role="switch"
        aria-checked={checked}
        checked={checked}
        aria-describedby={`${id}-d`}
        onChange={(e) => onChange(e.target.checked)}
      />
      <label htmlFor={id}>{label}</label>
      <p className="hint" id={`${id}-d`}>
        {description}
      </p>
    </div>
  );
}

/** The request as an HTTP message: what the webhook received, to compare with its own logs. */
function requestText(request: NonNullable<WebhookTestResult['request']>): string {
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${value}`);
  return [`${request.method} ${request.url}`, ...headers, '', request.body].join('\n');
}

function WebhookTester({ appId }: { appId: string }) {
  const [authData, setAuthData] = useState(
    '{\n  "username": "sample-user",\n  "password": "sample-password"\n}',
  );
  const [inputError, setInputError] = useState<string | undefined>();
  const { busy, error, run: runTest } = useAction();
  const [result, setResult] = useState<WebhookTestResult | null>(null);
  const run = async () => {
    const parsed = parseJsonObject(authData);
    if (!parsed.ok) {
      setInputError(parsed.error);
      return;
    }
    setInputError(undefined);
    setResult(null);
    await runTest(async () => {
      setResult(
        await api<WebhookTestResult>('POST', `/apps/${appId}/auth/webhook/test`, {
          authData: parsed.value,
        }),
      );
    });
  };
  return (
    <div className="card">
      <h2>Test the webhook</h2>
      <p className="hint">Calls the saved webhook as a login would. Nobody is logged in.</p>
      <TextArea
        label="Sample authData (JSON object)"
        rows={4}
        value={authData}
        onChange={(e) => setAuthData(e.target.value)}
        error={inputError}
      />
      <Button onClick={run} busy={busy}>
        Test webhook
      </Button>
      <ErrorMessage error={error} />
      {result ? (
        <div className="result" role="status" aria-live="polite">
          <p>
            Verdict: <span className={`verdict verdict-${result.verdict}`}>{result.verdict}</span>{' '}
            {result.id ? (
              <>
                as <code>{result.id}</code>
              </>
            ) : null}{' '}
            <span className="muted">({result.durationMs} ms)</span>
          </p>
          <h3>clientData</h3>
          <CodeBlock>{JSON.stringify(result.clientData, null, 2)}</CodeBlock>
          <h3>serverData</h3>
          <CodeBlock>{JSON.stringify(result.serverData, null, 2)}</CodeBlock>
          {result.request ? (
            <section aria-label="Request sent">
              <h3>Request sent</h3>
              <CodeBlock>{requestText(result.request)}</CodeBlock>
            </section>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
