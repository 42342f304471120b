/**
 * One WebSocket per tab to `/ecommerce/{sessionId}/{userId}`: reconnects with backoff, re-sends
 * channel subscriptions after a reconnect, routes messages by `type`, and reports its status so
 * the UI can show it and resync what it shows.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import type { Channel, ClientMessage, ServerMessage } from "./types";

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

export interface SocketLike {
  readyState: number;
  onopen: ((ev: Event) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

type Handler<T extends ServerMessage["type"]> = (msg: Extract<ServerMessage, { type: T }>) => void;

export interface RealtimeOptions {
  url: string;
  createSocket?: SocketFactory;
  backoff?: BackoffOptions;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  pingIntervalMs?: number;
}

const OPEN = 1;

/** The WebSocket URL for a shopper; a signed-in user's token rides in the query (browsers send no headers). */
export function socketUrl(
  location: { protocol: string; host: string },
  sessionId: string,
  userId: string | null,
  token: string | null = null,
): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const user = encodeURIComponent(userId ?? "anonymous");
  const auth = userId && token ? `?token=${encodeURIComponent(token)}` : "";
  return `${scheme}://${location.host}/ecommerce/${encodeURIComponent(sessionId)}/${user}${auth}`;
}

/** Parses one server frame; anything that is not an object with a string `type` is null. */
export function parseServerMessage(raw: unknown): ServerMessage | null {
  if (typeof raw !== "string") return null;
  try {
    const data: unknown = JSON.parse(raw);
    if (data && typeof data === "object" && typeof (data as { type?: unknown }).type === "string") {
      return data as ServerMessage;
    }
  } catch {
    return null;
  }
  return null;
}

export class RealtimeClient {
  private socket: SocketLike | null = null;
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private stopped = true;
  private everOpened = false;
  private readonly channels = new Set<Channel>();
  private readonly handlers = new Map<string, Set<(msg: ServerMessage) => void>>();
  private readonly statusListeners = new Set<(status: ConnectionStatus) => void>();
  private readonly reconnectListeners = new Set<() => void>();
  private currentStatus: ConnectionStatus = "closed";
  private readonly opts: Required<Omit<RealtimeOptions, "url">> & { url: string };

  constructor(options: RealtimeOptions) {
    this.opts = {
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      pingIntervalMs: 25_000,
      ...options,
    };
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get url(): string {
    return this.opts.url;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.onmessage = null;
      socket.onerror = null;
      socket.onopen = null;
      socket.close(1000, "client stopped");
    }
    this.setStatus("closed");
  }

  /**
   * Reconnects at once instead of waiting out the backoff, when a reconnect is pending: for when
   * the network is back or the tab is shown again (a hidden tab's timers run late). A failed
   * attempt backs off on from where it was.
   */
  retryNow(): void {
    if (this.stopped || this.reconnectTimer === null) return;
    this.opts.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.open();
  }

  /** Sends now if open; returns false when the message could not be sent. */
  send(message: ClientMessage): boolean {
    if (!this.socket || this.socket.readyState !== OPEN) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  subscribe(channel: Channel): void {
    this.channels.add(channel);
    this.send({ type: "SUBSCRIBE", channel });
  }

  unsubscribe(channel: Channel): void {
    this.channels.delete(channel);
    this.send({ type: "UNSUBSCRIBE", channel });
  }

  on<T extends ServerMessage["type"]>(type: T, handler: Handler<T>): () => void {
    const set = this.handlers.get(type) ?? new Set();
    const wrapped = handler as (msg: ServerMessage) => void;
    set.add(wrapped);
    this.handlers.set(type, set);
    return () => set.delete(wrapped);
  }

  onStatus(listener: (status: ConnectionStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Called after every successful reconnect (not the first connect): time to refetch state. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Delivers a parsed message to its handlers; exposed for the socket and for tests. */
  dispatch(message: ServerMessage): void {
    for (const handler of this.handlers.get(message.type) ?? []) handler(message);
  }

  private open(): void {
    this.setStatus(this.everOpened || this.attempt > 0 ? "reconnecting" : "connecting");
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      const isReconnect = this.everOpened;
      this.everOpened = true;
      this.setStatus("open");
      for (const channel of this.channels) this.send({ type: "SUBSCRIBE", channel });
      this.schedulePing();
      if (isReconnect) for (const listener of this.reconnectListeners) listener();
    };
    socket.onmessage = (ev) => {
      // backoff restarts only once the server talks: a refused socket (1008) opens, then closes
      this.attempt = 0;
      const message = parseServerMessage(ev.data);
      if (message) this.dispatch(message);
    };
    socket.onerror = () => {
      // the close event that follows an error drives the reconnect
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (!this.stopped) this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.setStatus("reconnecting");
    const delay = backoffDelay(this.attempt, this.opts.random(), this.opts.backoff);
    this.attempt += 1;
    this.reconnectTimer = this.opts.setTimer(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.open();
    }, delay);
  }

  private schedulePing(): void {
    this.pingTimer = this.opts.setTimer(() => {
      this.pingTimer = null;
      if (this.send({ type: "PING" })) this.schedulePing();
    }, this.opts.pingIntervalMs);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) this.opts.clearTimer(this.reconnectTimer);
    if (this.pingTimer !== null) this.opts.clearTimer(this.pingTimer);
    this.reconnectTimer = null;
    this.pingTimer = null;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    for (const listener of this.statusListeners) listener(status);
  }
}
