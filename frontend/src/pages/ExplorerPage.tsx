/** Event explorer: the live event stream, and from the event store a history and a state at a snapshot. */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Empty, ErrorState, Loading } from "../components/States";
import { countOf } from "../lib/format";
import type { StoreKey } from "../lib/api";
import { storeProblem, type StoredEvent } from "../lib/store";
import type { AnyEvent } from "../lib/types";
import { storeHistoryQuery, storeSnapshotsQuery, storeStateQuery } from "../state/queries";
import { useSocket } from "../state/shop";

const MAX_STREAM = 200;

function eventSubject(e: Record<string, unknown>): string {
  for (const key of ["productId", "orderId", "page", "query", "userId", "sessionId"]) {
    if (typeof e[key] === "string") return `${key}=${e[key] as string}`;
  }
  return "";
}

function EventRow({ event }: { event: StoredEvent | AnyEvent }) {
  const e = event as Record<string, unknown>;
  const time = typeof e.timestamp === "number" ? new Date(e.timestamp).toLocaleTimeString() : "";
  return (
    <li className="border-b border-slate-100 py-1 text-sm" data-testid="event-row">
      <details>
        <summary className="cursor-pointer">
          <span className="mr-2 font-mono text-xs text-slate-500">{time}</span>
          <span className="mr-2 font-semibold">{String(e.eventType ?? "?")}</span>
          <span className="text-slate-600">{eventSubject(e)}</span>
        </summary>
        <pre className="mt-1 overflow-x-auto rounded bg-slate-50 p-2 text-xs">{JSON.stringify(event, null, 2)}</pre>
      </details>
    </li>
  );
}

function LiveStream() {
  const client = useSocket();
  const [events, setEvents] = useState<AnyEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState("");

  useEffect(() => {
    if (paused) return;
    const off = client.on("EVENT", (msg) => setEvents((list) => [msg.event, ...list].slice(0, MAX_STREAM)));
    client.subscribe("events");
    return () => {
      off();
      client.unsubscribe("events");
    };
  }, [client, paused]);

  const shown = filter ? events.filter((e) => (e.eventType ?? "").includes(filter.toUpperCase())) : events;
  return (
    <section aria-labelledby="live-stream" className="rounded-lg border border-slate-200 bg-white p-4">
      <div className="mb-2 flex flex-wrap items-end gap-2">
        <h2 id="live-stream" className="mr-auto text-lg font-semibold">Live event stream</h2>
        <div>
          <label htmlFor="stream-filter" className="block text-xs font-medium">Filter by type</label>
          <input id="stream-filter" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. CART" className="rounded border border-slate-300 px-2 py-1 text-sm" />
        </div>
        <button type="button" onClick={() => setPaused((p) => !p)} className="rounded border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100 focus-visible:outline-2" aria-pressed={paused}>
          {paused ? "Resume" : "Pause"}
        </button>
      </div>
      {shown.length === 0 ? (
        <Empty title={paused ? "Stream paused" : "Waiting for events…"} />
      ) : (
        <ul className="max-h-96 overflow-y-auto" aria-live="off" data-testid="live-events">
          {shown.map((e, i) => <EventRow key={e.eventId ?? i} event={e} />)}
        </ul>
      )}
    </section>
  );
}

function StoreError({ error }: { error: unknown }) {
  const problem = storeProblem(error);
  return problem.unavailable ? (
    <Empty title="Event store unavailable">{problem.message}</Empty>
  ) : (
    <ErrorState error={problem.message} />
  );
}

function History() {
  const [key, setKey] = useState<StoreKey>("productId");
  const [value, setValue] = useState("");
  const [query, setQuery] = useState<{ key: StoreKey; value: string } | null>(null);
  const result = useQuery({ ...storeHistoryQuery(query?.key ?? "productId", query?.value ?? ""), enabled: query !== null });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (value.trim()) setQuery({ key, value: value.trim() });
  };
  return (
    <section aria-labelledby="history" className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 id="history" className="mb-2 text-lg font-semibold">History from the event store</h2>
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor="history-key" className="block text-xs font-medium">Of a</label>
          <select id="history-key" value={key} onChange={(e) => setKey(e.target.value as StoreKey)} className="rounded border border-slate-300 px-2 py-1 text-sm">
            <option value="productId">product</option>
            <option value="sessionId">session</option>
            <option value="userId">user</option>
            <option value="orderId">order</option>
          </select>
        </div>
        <div className="flex-1">
          <label htmlFor="history-value" className="block text-xs font-medium">Id</label>
          <input id="history-value" value={value} onChange={(e) => setValue(e.target.value)} className="w-full rounded border border-slate-300 px-2 py-1 text-sm" />
        </div>
        <button type="submit" className="rounded bg-slate-800 px-3 py-1 text-sm text-white hover:bg-slate-700 focus-visible:outline-2">Show history</button>
      </form>
      {!query ? <p className="text-sm text-slate-500">Choose a product, session, user or order.</p> : null}
      {query && result.isFetching ? <Loading /> : null}
      {query && !result.isFetching && result.error ? <StoreError error={result.error} /> : null}
      {query && !result.isFetching && result.data && result.data.events.length === 0 ? <Empty title="No stored events for it" /> : null}
      {query && !result.isFetching && result.data && result.data.events.length > 0 ? (
        <>
          <p className="text-sm text-slate-600">{countOf(result.data.total, "event")}, newest first</p>
          <ul data-testid="history-events">{result.data.events.map((e, i) => <EventRow key={e.eventId ?? i} event={e} />)}</ul>
        </>
      ) : null}
    </section>
  );
}

function TimeTravel() {
  const snapshots = useQuery(storeSnapshotsQuery());
  const [kind, setKind] = useState<"product" | "cart">("product");
  const [id, setId] = useState("");
  const [snapshotId, setSnapshotId] = useState("");
  const [query, setQuery] = useState<{ kind: "product" | "cart"; id: string; snapshotId: string } | null>(null);
  const state = useQuery({ ...storeStateQuery(query?.kind ?? "product", query?.id ?? "", query?.snapshotId ?? ""), enabled: query !== null });
  const submit = (ev: FormEvent) => {
    ev.preventDefault();
    if (id.trim()) setQuery({ kind, id: id.trim(), snapshotId });
  };
  return (
    <section aria-labelledby="time-travel" className="rounded-lg border border-slate-200 bg-white p-4">
      <h2 id="time-travel" className="mb-2 text-lg font-semibold">State at a snapshot</h2>
      {snapshots.error ? <StoreError error={snapshots.error} /> : null}
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-2">
        <div>
          <label htmlFor="tt-kind" className="block text-xs font-medium">Kind</label>
          <select id="tt-kind" value={kind} onChange={(e) => setKind(e.target.value as "product" | "cart")} className="rounded border border-slate-300 px-2 py-1 text-sm">
            <option value="product">product</option>
            <option value="cart">cart</option>
          </select>
        </div>
        <div className="flex-1">
          <label htmlFor="tt-id" className="block text-xs font-medium">{kind === "cart" ? "Cart id" : "Product id"}</label>
          <input id="tt-id" value={id} onChange={(e) => setId(e.target.value)} className="w-full rounded border border-slate-300 px-2 py-1 text-sm" />
        </div>
        <div>
          <label htmlFor="tt-snapshot" className="block text-xs font-medium">Snapshot</label>
          <select id="tt-snapshot" value={snapshotId} onChange={(e) => setSnapshotId(e.target.value)} className="rounded border border-slate-300 px-2 py-1 text-sm">
            <option value="">latest</option>
            {(snapshots.data ?? []).map((s) => (
              <option key={s.snapshotId} value={String(s.snapshotId)}>
                #{s.snapshotId} · {s.commitTime ? new Date(s.commitTime).toLocaleString() : "?"} · {s.recordCount} records
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="rounded bg-slate-800 px-3 py-1 text-sm text-white hover:bg-slate-700 focus-visible:outline-2">Show state</button>
      </form>
      {query && state.isFetching ? <Loading /> : null}
      {query && !state.isFetching && state.error ? <StoreError error={state.error} /> : null}
      {query && !state.isFetching && state.data !== undefined && state.data !== null ? (
        <pre className="overflow-x-auto rounded bg-slate-50 p-2 text-xs" data-testid="state-json">{JSON.stringify(state.data, null, 2)}</pre>
      ) : null}
    </section>
  );
}

export function ExplorerPage() {
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Event explorer</h1>
      <LiveStream />
      <div className="grid gap-4 lg:grid-cols-2">
        <History />
        <TimeTravel />
      </div>
    </div>
  );
}
