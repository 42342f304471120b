/** Reconnect delays: exponential backoff with full jitter, capped, so many tabs do not reconnect in step. */

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };

/** The delay before reconnect attempt `attempt` (0 = first retry), given a random number in [0, 1). */
export function backoffDelay(
  attempt: number,
  random: number = Math.random(),
  options: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt));
  // half fixed, half random: never a zero delay, still spread out
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
