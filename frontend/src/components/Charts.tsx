/** Small hand-made SVG charts: a line over time and horizontal bars, each with a text equivalent. */

export function LineChart({ values, label, height = 120, color = "#4f46e5" }: { values: number[]; label: string; height?: number; color?: string }) {
  const width = 400;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - (v / max) * (height - 8) - 4).toFixed(1)}`);
  return (
    <figure className="w-full">
      <svg viewBox={`0 0 ${width} ${height}`} className="h-32 w-full" role="img" aria-label={`${label}: latest ${values[values.length - 1] ?? 0}, peak ${max}`} preserveAspectRatio="none">
        <line x1="0" y1={height - 4} x2={width} y2={height - 4} stroke="#cbd5e1" strokeWidth="1" />
        {values.length > 1 ? (
          <>
            <polygon points={`0,${height - 4} ${points.join(" ")} ${width},${height - 4}`} fill={color} fillOpacity="0.12" />
            <polyline points={points.join(" ")} fill="none" stroke={color} strokeWidth="2" vectorEffect="non-scaling-stroke" />
          </>
        ) : null}
      </svg>
      <figcaption className="sr-only">{label}</figcaption>
    </figure>
  );
}

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
