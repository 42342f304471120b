/**
 * Live analytics: GET /analytics once, then ANALYTICS pushes about every second on the `analytics`
 * channel; and the history of a chosen window (kept in the address, so a reload keeps it) from the
 * event store (GET /store/series), which a reload reads again instead of losing it.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { BarList, TimeChart } from "../components/Charts";
import { Empty, ErrorState, Loading } from "../components/States";
import { formatMoney } from "../lib/format";
import { appendAnalytics, type AnalyticsPoint } from "../lib/reducers";
import type { Analytics, Series, SeriesWindow } from "../lib/types";
import { analyticsQuery, seriesQuery } from "../state/queries";
import { useConnectionStatus, useSocket } from "../state/shop";

interface LiveAnalytics {
  analytics: Analytics | null;
  history: AnalyticsPoint[];
}

/** One more answer, fetched or pushed: the newest is shown and every one is a point of the history. */
function absorb(live: LiveAnalytics, analytics: Analytics): LiveAnalytics {
  const newer = !live.analytics || analytics.updatedAt >= live.analytics.updatedAt;
  return { analytics: newer ? analytics : live.analytics, history: appendAnalytics(live.history, analytics) };
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="rounded-lg border border-slate-200 bg-white p-4">
      <dt className="text-sm text-slate-500">{label}</dt>
      <dd className="mt-1 text-2xl font-bold" data-testid={testId}>{value}</dd>
    </div>
  );
}

function Card({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-4" aria-label={title}>
      <h2 className="mb-2 font-semibold">{title}</h2>
      {children}
    </section>
  );
}

const FUNNEL_STEPS: [string, string][] = [["views", "Viewed a product"], ["carts", "Added to cart"], ["checkouts", "Started checkout"], ["orders", "Ordered"]];

export function DashboardView({ analytics, history }: { analytics: Analytics; history: AnalyticsPoint[] }) {
  const funnel = FUNNEL_STEPS.map(([key, label]) => ({ label, value: analytics.funnel[key] ?? 0 }));
  const top = analytics.topProducts.map((p) => ({
    label: String(p.name ?? p.productId ?? "?"),
    value: Number(p.score ?? 0),
    display: Number(p.score ?? 0).toFixed(1),
  }));
  const cats = analytics.topCategories.map((c) => ({ label: String(c.category ?? "?"), value: Number(c.score ?? 0), display: Number(c.score ?? 0).toFixed(1) }));
  return (
    <div className="space-y-4">
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-6">
        <Stat label="Events / second" value={analytics.eventsPerSecond.toFixed(1)} testId="stat-eps" />
        <Stat label="Live users" value={String(analytics.liveUsers)} testId="stat-live-users" />
        <Stat label="Orders" value={String(analytics.orders)} testId="stat-orders" />
        <Stat label="Revenue" value={formatMoney(analytics.revenue)} testId="stat-revenue" />
        <Stat label="Cart abandonment" value={percent(analytics.abandonmentRate)} testId="stat-abandonment" />
        <Stat label="Conversion" value={percent(analytics.conversionRate ?? 0)} testId="stat-conversion" />
      </dl>
      <p className="text-xs text-slate-500">
        Conversion: visits that ordered / visits that viewed a product. Abandonment: carts left idle past the shop&apos;s
        abandonment timeout / visits that added to a cart (a cart counts only once that timeout has passed).
      </p>
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Events per second">
          <TimeChart points={history.map((h) => ({ t: h.at, v: h.eventsPerSecond }))} title="Events per second, each second since this page opened" unit="events per second" format={(v) => v.toFixed(1)} testId="chart-live-eps" />
        </Card>
        <Card title="Live users">
          <TimeChart points={history.map((h) => ({ t: h.at, v: h.liveUsers }))} title="Visitors active in the last 5 minutes, each second since this page opened" unit="live users" color="#059669" testId="chart-live-users" />
        </Card>
        <Card title="Conversion funnel">
          <BarList bars={funnel} label="Funnel" />
        </Card>
        <Card title="Revenue">
          <TimeChart points={history.map((h) => ({ t: h.at, v: h.revenue }))} title="Revenue of all orders so far, each second since this page opened" unit="revenue (total)" format={formatMoney} color="#d97706" testId="chart-live-revenue" />
          <p className="text-sm text-slate-600">Recovered carts: {analytics.recoveredCarts}</p>
        </Card>
        <Card title="Top products">
          {top.length ? <BarList bars={top} label="Top products" /> : <Empty title="No product activity yet" />}
        </Card>
        <Card title="Top categories">
          {cats.length ? <BarList bars={cats} label="Top categories" /> : <Empty title="No category activity yet" />}
        </Card>
      </div>
    </div>
  );
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(1)}%`;
}

export const WINDOWS: { value: SeriesWindow; label: string }[] = [
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
  { value: "6h", label: "Last 6 hours" },
  { value: "24h", label: "Last 24 hours" },
  { value: "7d", label: "Last 7 days" },
];

function bucketName(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "hour" : `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return ms === 60_000 ? "minute" : `${ms / 60_000} minutes`;
  return `${ms / 1000} seconds`;
}

/** The stored history of one window: orders, revenue, product viewers and conversion per interval. */
export function HistoryCharts({ series }: { series: Series }) {
  const per = `per ${bucketName(series.bucketMs)}`;
  const of = (pick: (p: Series["points"][number]) => number) => series.points.map((p) => ({ t: p.start, v: pick(p) }));
  return (
    <div className="grid gap-4 md:grid-cols-2" data-testid="history-charts">
      <Card title="Orders">
        <TimeChart points={of((p) => p.orders)} title="Orders placed" unit={`orders ${per}`} testId="chart-orders" />
      </Card>
      <Card title="Revenue">
        <TimeChart points={of((p) => p.revenue)} title="Revenue of the orders placed" unit={`revenue ${per}`} format={formatMoney} color="#d97706" testId="chart-revenue" />
      </Card>
      <Card title="Product viewers">
        <TimeChart points={of((p) => p.viewers)} title="Sessions that viewed a product" unit={`sessions ${per}`} color="#059669" testId="chart-viewers" />
      </Card>
      <Card title="Conversion">
        <TimeChart points={of((p) => p.conversionRate * 100)} title="Viewers who ordered in the same interval" unit="% of viewers" format={(v) => `${Math.round(v)}%`} color="#7c3aed" testId="chart-conversion" />
      </Card>
    </div>
  );
}

function History() {
  const [params, setParams] = useSearchParams();
  const chosen = params.get("window");
  const window: SeriesWindow = WINDOWS.some((w) => w.value === chosen) ? (chosen as SeriesWindow) : "1h";
  const series = useQuery(seriesQuery(window));
  return (
    <section className="mt-6 space-y-3" aria-labelledby="history-heading">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <h2 id="history-heading" className="text-xl font-bold">History</h2>
        <div>
          <label htmlFor="history-window" className="block text-sm font-medium">Time window</label>
          <select
            id="history-window"
            value={window}
            onChange={(e) => setParams((p) => { p.set("window", e.target.value); return p; }, { replace: true })}
            className="rounded border border-slate-300 px-2 py-1"
          >
            {WINDOWS.map((w) => <option key={w.value} value={w.value}>{w.label}</option>)}
          </select>
        </div>
      </div>
      <p className="text-xs text-slate-500">From the event store: what was recorded, so it is the same after a reload and on every instance.</p>
      {series.data ? <HistoryCharts series={series.data} /> : series.error ? <ErrorState error={series.error} onRetry={() => void series.refetch()} /> : <Loading label="Loading history…" />}
    </section>
  );
}

export function DashboardPage() {
  const client = useSocket();
  const status = useConnectionStatus();
  const initial = useQuery(analyticsQuery());
  const [{ analytics, history }, setLive] = useState<LiveAnalytics>({ analytics: null, history: [] });
  // a fetched answer joins the pushed ones once (adjusted while rendering, not in an effect)
  const [absorbed, setAbsorbed] = useState<Analytics | undefined>(undefined);
  if (initial.data && initial.data !== absorbed) {
    const fetched = initial.data;
    setAbsorbed(fetched);
    setLive((live) => absorb(live, fetched));
  }

  useEffect(() => {
    const off = client.on("ANALYTICS", (msg) => setLive((live) => absorb(live, msg.analytics)));
    client.subscribe("analytics");
    return () => {
      off();
      client.unsubscribe("analytics");
    };
  }, [client]);

  return (
    <div>
      <div className="mb-4 flex flex-wrap items-baseline justify-between gap-2">
        <h1 className="text-2xl font-bold">Live dashboard</h1>
        <p className="text-sm text-slate-500" data-testid="analytics-updated">
          {analytics ? `Updated ${new Date(analytics.updatedAt).toLocaleTimeString()}` : ""} {status !== "open" ? "· waiting for the live feed" : ""}
        </p>
      </div>
      {!analytics && initial.isPending ? <Loading label="Loading analytics…" /> : null}
      {!analytics && initial.error ? <ErrorState error={initial.error} onRetry={() => void initial.refetch()} /> : null}
      {analytics ? <DashboardView analytics={analytics} history={history} /> : null}
      <History />
    </div>
  );
}
