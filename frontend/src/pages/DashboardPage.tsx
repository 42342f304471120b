/** Live analytics: GET /analytics once, then ANALYTICS pushes about every second on the `analytics` channel. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { BarList, LineChart } from "../components/Charts";
import { Empty, ErrorState, Loading } from "../components/States";
import { formatMoney } from "../lib/format";
import { appendAnalytics, type AnalyticsPoint } from "../lib/reducers";
import type { Analytics } from "../lib/types";
import { analyticsQuery } from "../state/queries";
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
      <dl className="grid grid-cols-2 gap-3 md:grid-cols-5">
        <Stat label="Events / second" value={analytics.eventsPerSecond.toFixed(1)} testId="stat-eps" />
        <Stat label="Live users" value={String(analytics.liveUsers)} testId="stat-live-users" />
        <Stat label="Orders" value={String(analytics.orders)} testId="stat-orders" />
        <Stat label="Revenue" value={formatMoney(analytics.revenue)} testId="stat-revenue" />
        <Stat label="Cart abandonment" value={`${(analytics.abandonmentRate * 100).toFixed(0)}%`} testId="stat-abandonment" />
      </dl>
      <div className="grid gap-4 md:grid-cols-2">
        <Card title="Events per second">
          <LineChart values={history.map((h) => h.eventsPerSecond)} label="Events per second over time" />
        </Card>
        <Card title="Live users">
          <LineChart values={history.map((h) => h.liveUsers)} label="Live users over time" color="#059669" />
        </Card>
        <Card title="Conversion funnel">
          <BarList bars={funnel} label="Funnel" />
        </Card>
        <Card title="Revenue">
          <LineChart values={history.map((h) => h.revenue)} label="Revenue over time" color="#d97706" />
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
    </div>
  );
}
