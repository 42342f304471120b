/** Test doubles for unit tests only: a fake WebSocket, a manual clock, and a fetch that answers from a table. */
import { vi } from "vitest";
import type { SocketLike } from "../lib/realtime";
import type { Cart, Facets, Order, Product } from "../lib/types";

export class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  closed = false;
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  static latest(): FakeSocket {
    const socket = FakeSocket.instances[FakeSocket.instances.length - 1];
    if (!socket) throw new Error("no socket was created");
    return socket;
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.closed = true;
    this.readyState = 3;
  }

  serverOpens(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  serverSends(message: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data: typeof message === "string" ? message : JSON.stringify(message) }));
  }

  serverCloses(): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close"));
  }
}

export class ManualTimers {
  private next = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  set = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.pending.set(id, { fn, ms });
    return id;
  };
  clear = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  delays(): number[] {
    return [...this.pending.values()].map((t) => t.ms);
  }
  /** Runs the timers due within `ms` (only those pending now). */
  runAll(maxMs = Infinity): void {
    for (const [id, t] of [...this.pending]) {
      if (t.ms > maxMs) continue;
      this.pending.delete(id);
      t.fn();
    }
  }
}

type Route = (url: URL, init: RequestInit | undefined) => unknown;

/** Stubs global fetch; each route is `"METHOD /path"` (path without query) to a JSON body or a function. */
export function stubFetch(routes: Record<string, unknown>) {
  const calls: { method: string; url: URL; body: unknown }[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), "http://localhost");
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    calls.push({ method, url, body });
    const route = routes[`${method} ${url.pathname}`];
    if (route === undefined) {
      return new Response(JSON.stringify({ error: "not_found", message: `no route ${url.pathname}` }), { status: 404 });
    }
    // a route may answer later (a promise), to hold a response back
    const value: unknown = await (typeof route === "function" ? (route as Route)(url, init) : route);
    if (value instanceof Response) return value;
    return new Response(JSON.stringify(value), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock };
}

export function facets(overrides: Partial<Facets> = {}): Facets {
  return { category: [], brand: [], price: [], rating: [], inStock: 0, onSale: 0, ...overrides };
}

export function product(overrides: Partial<Product> = {}): Product {
  return {
    id: "prod_1",
    name: "Trail Shoe",
    description: "A shoe",
    category: "Shoes",
    brand: "Trekka",
    price: 80,
    listPrice: 80,
    originalPrice: 100,
    stock: 10,
    available: 10,
    lowStock: false,
    soldOut: false,
    rating: 4.5,
    reviewCount: 12,
    tags: ["running"],
    featured: true,
    imageUrl: "/images/products/prod_1.svg",
    flashSale: null,
    ...overrides,
  } as Product;
}

export function cart(overrides: Partial<Cart> = {}): Cart {
  return {
    cartId: "cart_sess_1",
    sessionId: "sess_1",
    userId: null,
    lines: [],
    itemCount: 0,
    subtotal: 0,
    updatedAt: 1,
    ...overrides,
  };
}

/** A placed order of one line, in `status`. */
export function order(status: Order["status"] = "PLACED"): Order {
  return {
    orderId: "order_1", reference: "AB12-CD34", sessionId: "sess_test", userId: null, idempotencyKey: "k",
    lines: [{ productId: "prod_1", name: "Trail Shoe", quantity: 1, unitPrice: 80, lineTotal: 80 }],
    subtotal: 80, discount: 0, shipping: 0, tax: 16, total: 96, couponCode: null, email: "ada@example.com",
    address: { name: "Ada", line1: "1 St", city: "London", postalCode: "SW1A 1AA", country: "GB" },
    shipTo: ["Ada", "1 St", "London", "SW1A 1AA", "United Kingdom"],
    delivery: { option: "standard", label: "Standard", cost: 0, estimatedDate: "2026-12-01" },
    payments: [], status, payBy: status === "PLACED" ? 900_001 : null, trackingNumber: null, lapsed: false, createdAt: 1, updatedAt: 1, history: [],
  };
}
