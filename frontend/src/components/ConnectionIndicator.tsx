/** Shows whether the live connection is up, so a shopper knows prices and stock are current. */
import type { ConnectionStatus } from "../lib/realtime";

const LOOK: Record<ConnectionStatus, { label: string; dot: string }> = {
  open: { label: "Live", dot: "bg-emerald-500" },
  connecting: { label: "Connecting", dot: "bg-amber-400" },
  reconnecting: { label: "Reconnecting", dot: "bg-amber-500 animate-pulse" },
  closed: { label: "Offline", dot: "bg-red-500" },
};

export function ConnectionIndicator({ status }: { status: ConnectionStatus }) {
  const look = LOOK[status];
  return (
    <span role="status" aria-live="polite" data-testid="connection" data-status={status} title={look.label} className="inline-flex items-center gap-1.5 text-xs text-slate-600">
      <span className={`h-2.5 w-2.5 rounded-full ${look.dot}`} aria-hidden />
      {/* on a phone the dot alone, so the header keeps to one row; its colour is said in words to screen readers */}
      <span className="sr-only sm:not-sr-only">{look.label}</span>
    </span>
  );
}
