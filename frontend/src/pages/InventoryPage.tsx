/**
 * The live inventory view: every product's stock, filtered to what needs attention, and the
 * inventory processor's alerts (low stock, sold out, back in stock, stock unchanged for hours,
 * price drops) pushed on the `inventory` channel as they happen.
 */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { Empty, ErrorState, Loading } from "../components/States";
import { formatMoney } from "../lib/format";
import type { InventoryAlert, InventoryLevel, Product } from "../lib/types";
import { adminProductsQuery } from "../state/queries";
import { useSocket } from "../state/shop";

const ALERT_LIMIT = 50;
type Filter = "all" | "low" | "out";

/** What an alert says, in words. */
export function alertText(alert: InventoryAlert): string {
  const name = alert.name ?? alert.productId;
  switch (alert.level) {
    case "LOW_STOCK":
      return `${name} is running low: ${alert.available} left`;
    case "SOLD_OUT":
      return `${name} is sold out`;
    case "BACK_IN_STOCK":
      return `${name} is back in stock: ${alert.available} available`;
    case "STOCK_UNCHANGED": {
      const hours = alert.unchangedSince && alert.timestamp ? Math.round((alert.timestamp - alert.unchangedSince) / 3_600_000) : null;
      return `${name} has not sold or moved${hours !== null ? ` for ${hours} h` : ""} (${alert.available} in stock)`;
    }
    case "PRICE_DROP":
      return `${name} dropped from ${formatMoney(Number(alert.oldPrice))} to ${formatMoney(Number(alert.newPrice))}`;
    default:
      return `${name}: ${String(alert.level)}`;
  }
}

/** Newest first, each alert once (the same alert may be pushed again after a reconnect). */
export function addAlert(alerts: InventoryAlert[], alert: InventoryAlert): InventoryAlert[] {
  if (alert.eventId && alerts.some((a) => a.eventId === alert.eventId)) return alerts;
  return [alert, ...alerts].slice(0, ALERT_LIMIT);
}

/** A product with a pushed stock level applied. */
export function withLevel(products: Product[], level: InventoryLevel): Product[] {
  return products.map((p) =>
    p.id === level.productId ? { ...p, stock: level.stock, available: level.available, lowStock: level.lowStock, soldOut: level.soldOut } : p,
  );
}

export function InventoryPage() {
  const client = useSocket();
  const queries = useQueryClient();
  const products = useQuery(adminProductsQuery());
  const [alerts, setAlerts] = useState<InventoryAlert[]>([]);
  const [filter, setFilter] = useState<Filter>("low");

  useEffect(() => {
    const key = adminProductsQuery().queryKey;
    const offs = [
      client.on("INVENTORY_ALERT", (msg) => setAlerts((current) => addAlert(current, msg.alert))),
      client.on("INVENTORY_UPDATED", (msg) => queries.setQueryData<Product[]>(key, (current) => (current ? withLevel(current, msg) : current))),
    ];
    client.subscribe("inventory");
    return () => {
      offs.forEach((off) => off());
      client.unsubscribe("inventory");
    };
  }, [client, queries]);

  const shown = (products.data ?? [])
    .filter((p) => filter === "all" || (filter === "out" ? p.soldOut : p.soldOut || p.lowStock))
    .sort((a, b) => a.available - b.available || a.name.localeCompare(b.name));

  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-bold">Inventory</h1>
      <section aria-labelledby="alerts-heading" className="rounded-lg border border-slate-200 bg-white p-4">
        <h2 id="alerts-heading" className="mb-2 font-semibold">Live alerts</h2>
        <ul className="space-y-1 text-sm" aria-live="polite" data-testid="inventory-alerts">
          {alerts.length === 0 ? <li className="text-slate-500">No alerts since this page opened.</li> : null}
          {alerts.map((a, i) => (
            <li key={a.eventId ?? i} data-level={a.level} className="flex gap-2">
              <span className="w-28 shrink-0 font-mono text-xs text-slate-500">{a.timestamp ? new Date(a.timestamp).toLocaleTimeString() : ""}</span>
              <span>{alertText(a)}</span>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="levels-heading" className="rounded-lg border border-slate-200 bg-white p-4">
        <div className="mb-2 flex flex-wrap items-end justify-between gap-2">
          <h2 id="levels-heading" className="font-semibold">Stock levels</h2>
          <div>
            <label htmlFor="inventory-filter" className="block text-sm font-medium">Show</label>
            <select id="inventory-filter" value={filter} onChange={(e) => setFilter(e.target.value as Filter)} className="rounded border border-slate-300 px-2 py-1">
              <option value="low">Low or sold out</option>
              <option value="out">Sold out</option>
              <option value="all">All products</option>
            </select>
          </div>
        </div>
        {products.error ? <ErrorState error={products.error} onRetry={() => void products.refetch()} /> : !products.data ? <Loading label="Loading stock…" /> : shown.length === 0 ? <Empty title="Nothing needs attention" /> : (
          <table className="w-full text-left text-sm" data-testid="inventory-table">
            <thead><tr><th scope="col">Product</th><th scope="col">Available (units)</th><th scope="col">On the shelf (units)</th><th scope="col">Status</th></tr></thead>
            <tbody>
              {shown.map((p) => (
                <tr key={p.id} className="border-t border-slate-100">
                  <td className="py-1"><Link to={`/product/${encodeURIComponent(p.id)}`} className="text-indigo-700 underline">{p.name}</Link></td>
                  <td className="font-mono">{p.available}</td>
                  <td className="font-mono">{p.stock}</td>
                  <td>{p.soldOut ? "Sold out" : p.lowStock ? "Low" : "OK"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
