import { useId, useState } from 'react';
import { api, type Usage, type UsageSample } from '../api.ts';
import { Button, Empty, ErrorMessage, Loading, useAsync } from '../components/ui.tsx';
import { perMinute } from '../lib/usage.ts';

const RANGES = [
  [60, 'Last hour'],
  [360, 'Last 6 hours'],
  [1440, 'Last 24 hours'],
] as const;

type Series = { label: string; className: string; values: number[] };

function Chart({
  title,
  points,
  series,
}: {
  title: string;
  points: UsageSample[];
  series: Series[];
}) {
  const width = 720;
  const height = 200;
  const pad = { left: 44, right: 12, top: 12, bottom: 24 };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const n = Math.max(points.length - 1, 1);
  const x = (i: number) => pad.left + (i / n) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - v / max) * (height - pad.top - pad.bottom);
  const time = (iso: string) =>
    new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const titleId = useId();
  const summary = series
    .map(
      (s) =>
        `${s.label}: peak ${Math.max(0, ...s.values)}, total ${s.values.reduce((a, b) => a + b, 0)}`,
    )
    .join('; ');
  return (
    <figure className="card chart">
      <figcaption id={titleId}>
        <h2>{title}</h2>
        <ul className="legend">
          {series.map((s) => (
            <li key={s.label}>
              <span className={`swatch ${s.className}`} aria-hidden="true" /> {s.label}
            </li>
          ))}
        </ul>
      </figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={titleId}>
        <title>{summary}</title>
        <line x1={pad.left} x2={width - pad.right} y1={y(0)} y2={y(0)} className="axis" />
        <line x1={pad.left} x2={width - pad.right} y1={y(max)} y2={y(max)} className="grid" />
        <text x={pad.left - 6} y={y(max) + 4} textAnchor="end" className="tick">
          {max}
        </text>
        <text x={pad.left - 6} y={y(0) + 4} textAnchor="end" className="tick">
          0
        </text>
        {points.length > 0 ? (
          <>
            <text x={pad.left} y={height - 6} className="tick">
              {time(points[0]?.minute ?? '')}
            </text>
            <text x={width - pad.right} y={height - 6} textAnchor="end" className="tick">
              {time(points[points.length - 1]?.minute ?? '')}
            </text>
          </>
        ) : null}
        {series.map((s) => (
          <polyline
            key={s.label}
            className={`line ${s.className}`}
            fill="none"
            points={s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
    </figure>
  );
}

export function UsageTab({ appId }: { appId: string }) {
  const [minutes, setMinutes] = useState<number>(60);
  const usage = useAsync(
    () => api<Usage>('GET', `/apps/${appId}/usage?minutes=${minutes}`),
    [appId, minutes],
  );
  const rangeId = useId();
  return (
    <div className="stack">
      <div className="toolbar">
        <div className="field">
          <label htmlFor={rangeId}>Period</label>
          <select id={rangeId} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))}>
            {RANGES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <Button onClick={usage.reload}>Refresh</Button>
      </div>
      {usage.status === 'loading' ? <Loading label="Loading usage…" /> : null}
      {usage.status === 'error' ? (
        <ErrorMessage error={usage.error} onRetry={usage.reload} />
      ) : null}
      {usage.status === 'ok' && usage.data.samples.length === 0 ? (
        <Empty title="No traffic in this period">
          <p>Connections and messages show up here a minute or so after clients connect.</p>
        </Empty>
      ) : null}
      {usage.status === 'ok' && usage.data.samples.length > 0 ? (
        <UsageCharts points={perMinute(usage.data.samples, usage.data.from, usage.data.to)} />
      ) : null}
    </div>
  );
}

function UsageCharts({ points }: { points: UsageSample[] }) {
  return (
    <>
      <Chart
        title="Connections per minute (peak)"
        points={points}
        series={[
          { label: 'Connections', className: 's1', values: points.map((p) => p.peakConnections) },
        ]}
      />
      <Chart
        title="Messages per minute"
        points={points}
        series={[
          { label: 'Received', className: 's1', values: points.map((p) => p.messagesIn) },
          { label: 'Sent', className: 's2', values: points.map((p) => p.messagesOut) },
          { label: 'Denied', className: 's3', values: points.map((p) => p.denied) },
        ]}
      />
      <details className="card">
        <summary>Minutes with traffic as a table</summary>
        <div className="table-wrap">
          <table className="reflow">
            <thead>
              <tr>
                <th scope="col">Minute</th>
                <th scope="col">Connections</th>
                <th scope="col">Received</th>
                <th scope="col">Sent</th>
                <th scope="col">Denied</th>
                <th scope="col">Rate limited</th>
              </tr>
            </thead>
            <tbody>
              {points
                .filter((p) => p.peakConnections || p.messagesIn || p.messagesOut)
                .map((p) => (
                  <tr key={p.minute}>
                    <td data-label="Minute">{new Date(p.minute).toLocaleString()}</td>
                    <td data-label="Connections">{p.peakConnections}</td>
                    <td data-label="Received">{p.messagesIn}</td>
                    <td data-label="Sent">{p.messagesOut}</td>
                    <td data-label="Denied">{p.denied}</td>
                    <td data-label="Rate limited">{p.rateLimited}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}
