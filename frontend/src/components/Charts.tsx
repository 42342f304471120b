/** Small hand-made SVG charts: bars over time with axes and units, and horizontal bars, each with a text equivalent. */

export interface Bar {
  label: string;
  value: number;
  display?: string;
}

export function BarList({ bars, label }: { bars: Bar[]; label: string }) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  return (
    <ul aria-label={label} className="space-y-1.5">
      {bars.map((b) => (
        <li key={b.label} className="text-sm">
          <div className="flex justify-between gap-2">
            <span className="truncate">{b.label}</span>
            <span className="font-mono">{b.display ?? b.value}</span>
          </div>
          <div className="h-2 rounded bg-slate-100" aria-hidden>
            <div className="h-2 rounded bg-indigo-500" style={{ width: `${(b.value / max) * 100}%` }} />
          </div>
        </li>
      ))}
    </ul>
  );
}

export interface TimePoint {
  /** Epoch ms of the bucket's start. */
  t: number;
  v: number;
}

/** A "nice" top of the value axis: 1, 2 or 5 times a power of ten, at or above `max`. */
export function niceMax(max: number): number {
  if (max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 5, 10].find((m) => m * power >= max) ?? 10;
  return step * power;
}

/** A moment on the time axis, as precise as the series' step: seconds for buckets under a
 * minute (else neighbouring labels read the same), the day for series longer than one. */
function clock(t: number, withDay: boolean, withSeconds = false): string {
  const d = new Date(t);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", ...(withSeconds ? { second: "2-digit" } : {}) });
  return withDay ? `${d.toLocaleDateString([], { month: "short", day: "numeric" })} ${time}` : time;
}

/** Where the plot starts: right of the value axis's widest tick label ("$12,000.00"), which
 * must clear the axis's title, drawn upright along the left edge (about 6.4 px a character
 * at the charts' 11 px). */
export function valueAxisLeft(labels: string[]): number {
  const widest = Math.max(0, ...labels.map((l) => l.length));
  return Math.max(48, Math.ceil(26 + 6.4 * widest));
}

/** Bars over time with a labelled value axis (its unit in the title) and a time axis. */
export function TimeChart({
  points,
  title,
  unit,
  format = (v) => String(v),
  color = "#4f46e5",
  testId,
}: {
  points: TimePoint[];
  title: string;
  /** What the values count, shown on the value axis, e.g. "orders per minute". */
  unit: string;
  format?: (v: number) => string;
  color?: string;
  testId?: string;
}) {
  const width = 480;
  const height = 200;
  const max = niceMax(Math.max(0, ...points.map((p) => p.v)));
  const yTicks = [0, max / 2, max];
  const left = valueAxisLeft(yTicks.map(format));
  const bottom = 36;
  const top = 10;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const slot = points.length ? plotW / points.length : plotW;
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const first = points[0]?.t ?? 0;
  const last = points[points.length - 1]?.t ?? 0;
  const multiDay = last - first > 24 * 3600 * 1000;
  const seconds = points.length > 1 && (last - first) / (points.length - 1) < 60_000;
  const xTicks = points.length ? [...new Set([0, Math.floor((points.length - 1) / 2), points.length - 1])] : [];
  const total = points.reduce((sum, p) => sum + p.v, 0);
  return (
    <figure className="w-full" data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} className="w-full" role="img" aria-label={`${title}, ${unit}: ${points.length} intervals from ${clock(first, multiDay, seconds)} to ${clock(last, multiDay, seconds)}, total ${format(total)}, peak ${format(Math.max(0, ...points.map((p) => p.v)))}`}>
        <text x="12" y={top + plotH / 2} transform={`rotate(-90 12 ${top + plotH / 2})`} textAnchor="middle" fontSize="11" fill="#475569">{unit}</text>
        {yTicks.map((v) => (
          <g key={v}>
            <line x1={left} x2={width - 8} y1={y(v)} y2={y(v)} stroke="#e2e8f0" />
            <text x={left - 4} y={y(v) + 4} textAnchor="end" fontSize="11" fill="#475569" data-axis="y">{format(v)}</text>
          </g>
        ))}
        {points.map((p, i) => (
          <rect key={p.t} x={left + i * slot + slot * 0.1} width={slot * 0.8} y={y(p.v)} height={top + plotH - y(p.v)} fill={color}>
            <title>{`${clock(p.t, multiDay, seconds)}: ${format(p.v)}`}</title>
          </rect>
        ))}
        <line x1={left} x2={width - 8} y1={top + plotH} y2={top + plotH} stroke="#64748b" />
        <line x1={left} x2={left} y1={top} y2={top + plotH} stroke="#64748b" />
        {xTicks.map((i) => (
          <text key={i} x={left + i * slot + slot / 2} y={top + plotH + 14} textAnchor="middle" fontSize="11" fill="#475569" data-axis="x">{clock(points[i]?.t ?? 0, multiDay, seconds)}</text>
        ))}
        <text x={left + plotW / 2} y={height - 4} textAnchor="middle" fontSize="11" fill="#475569">time (your clock)</text>
      </svg>
      <figcaption className="mt-1 text-sm text-slate-600">{title}</figcaption>
    </figure>
  );
}
