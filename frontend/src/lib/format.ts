/** How numbers read on screen: money, counts of things, dates and moments, and the flash-sale countdown. */

export function secondsLeft(endsAt: number, now: number): number {
  return Math.max(0, Math.floor((endsAt - now) / 1000));
}

export function formatCountdown(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

export function formatMoney(value: number): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" }).format(value);
}

/** A count with its noun, singular for one: "1 item", "2 items", "1,204 reviews". */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count.toLocaleString("en-US")} ${count === 1 ? singular : plural}`;
}

/** A calendar date as the server sends it ("2026-12-04", a delivery estimate) as a shopper reads
 * it: "Fri, Dec 4". Taken as that day where the shopper is: parsed as midnight UTC, it would
 * read as the day before west of Greenwich. */
export function formatCalendarDate(iso: string): string {
  const [year, month, day] = iso.split("-").map(Number);
  if (!year || !month || !day) return iso;
  return new Date(year, month - 1, day).toLocaleDateString("en-US", { weekday: "short", month: "short", day: "numeric" });
}

/** A moment as people read it: "Nov 27, 2026, 1:41 PM" (the shopper's clock). */
export function formatMoment(ms: number): string {
  return new Date(ms).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" });
}

/** Until when an unpaid order holds its items, as short as it can be said: "6:45 PM" today,
 * otherwise the whole moment. */
export function formatDeadline(ms: number, now: number): string {
  const at = new Date(ms);
  return at.toDateString() === new Date(now).toDateString() ? at.toLocaleTimeString("en-US", { timeStyle: "short" }) : formatMoment(ms);
}
