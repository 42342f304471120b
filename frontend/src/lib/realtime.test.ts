import { beforeEach, describe, expect, it, vi } from "vitest";
import { FakeSocket, ManualTimers } from "../test/fakes";
import { parseServerMessage, RealtimeClient, socketUrl } from "./realtime";

function client(timers = new ManualTimers()) {
  const c = new RealtimeClient({
    url: "ws://shop/ecommerce/sess_1/anonymous",
    createSocket: (url) => new FakeSocket(url),
    random: () => 0.5,
    setTimer: timers.set,
    clearTimer: timers.clear,
    pingIntervalMs: 25_000,
  });
  return { c, timers };
}

beforeEach(() => {
  FakeSocket.instances = [];
});

describe("socketUrl", () => {
  it("uses the anonymous user until the shopper signs in", () => {
    expect(socketUrl({ protocol: "http:", host: "localhost:8080" }, "sess_1", null)).toBe("ws://localhost:8080/ecommerce/sess_1/anonymous");
  });
  it("passes a signed-in user's token in the query", () => {
    expect(socketUrl({ protocol: "http:", host: "shop" }, "sess_1", "user_a", "t.k")).toBe("ws://shop/ecommerce/sess_1/user_a?token=t.k");
  });
  it("uses wss behind https and escapes ids", () => {
    expect(socketUrl({ protocol: "https:", host: "shop" }, "s 1", "u@x")).toBe("wss://shop/ecommerce/s%201/u%40x");
  });
});

describe("parseServerMessage", () => {
  it("accepts an object with a type", () => {
    expect(parseServerMessage('{"type":"PONG"}')).toEqual({ type: "PONG" });
  });
  it("ignores malformed frames instead of throwing", () => {
    expect(parseServerMessage("not json")).toBeNull();
    expect(parseServerMessage('{"no":"type"}')).toBeNull();
    expect(parseServerMessage("[1,2]")).toBeNull();
    expect(parseServerMessage(new ArrayBuffer(2))).toBeNull();
  });
});

describe("RealtimeClient", () => {
  it("opens one socket and reports connecting, then open", () => {
    const { c } = client();
    const statuses: string[] = [];
    c.onStatus((s) => statuses.push(s));
    c.start();
    c.start();
    expect(FakeSocket.instances).toHaveLength(1);
    FakeSocket.latest().serverOpens();
    expect(statuses).toEqual(["connecting", "open"]);
  });

  it("routes each message to the handlers of its type only", () => {
    const { c } = client();
    const carts = vi.fn();
    const products = vi.fn();
    c.on("CART_UPDATED", carts);
    c.on("PRODUCT_UPDATED", products);
    c.start();
    const socket = FakeSocket.latest();
    socket.serverOpens();
    socket.serverSends({ type: "CART_UPDATED", cart: { cartId: "c1" } });
    socket.serverSends("garbage");
    expect(carts).toHaveBeenCalledWith({ type: "CART_UPDATED", cart: { cartId: "c1" } });
    expect(products).not.toHaveBeenCalled();
  });

  it("stops delivering to a handler after it unsubscribes", () => {
    const { c } = client();
    const handler = vi.fn();
    const off = c.on("PONG", handler);
    off();
    c.dispatch({ type: "PONG" });
    expect(handler).not.toHaveBeenCalled();
  });

  it("reconnects after a drop with growing backoff delays", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverCloses();
    expect(c.status).toBe("reconnecting");
    expect(timers.delays()).toEqual([375]);
    timers.runAll();
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([750]);
    timers.runAll();
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([1500]);
  });

  it("resets the backoff once the server talks on a new connection", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverCloses();
    timers.runAll();
    FakeSocket.latest().serverCloses();
    timers.runAll();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverSends({ type: "CONNECTED", sessionId: "s1", userId: null });
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([375]);
  });

  it("keeps backing off from a server that accepts the socket only to refuse it (1008)", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([375]);
    timers.runAll();
    FakeSocket.latest().serverOpens();
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([750]);
  });

  it("re-sends channel subscriptions and asks for a resync after reconnecting", () => {
    const { c, timers } = client();
    const resync = vi.fn();
    c.onReconnect(resync);
    c.start();
    FakeSocket.latest().serverOpens();
    c.subscribe("analytics");
    expect(FakeSocket.latest().sent).toContainEqual({ type: "SUBSCRIBE", channel: "analytics" });
    expect(resync).not.toHaveBeenCalled();

    FakeSocket.latest().serverCloses();
    timers.runAll(1000);
    const second = FakeSocket.latest();
    second.serverOpens();
    expect(second.sent).toEqual([{ type: "SUBSCRIBE", channel: "analytics" }]);
    expect(resync).toHaveBeenCalledTimes(1);
  });

  it("does not resubscribe a channel that was left", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverOpens();
    c.subscribe("events");
    c.unsubscribe("events");
    FakeSocket.latest().serverCloses();
    timers.runAll(1000);
    FakeSocket.latest().serverOpens();
    expect(FakeSocket.latest().sent).toEqual([]);
  });

  it("refuses to send while not connected", () => {
    const { c } = client();
    c.start();
    expect(c.send({ type: "PING" })).toBe(false);
    FakeSocket.latest().serverOpens();
    expect(c.send({ type: "PING" })).toBe(true);
  });

  it("pings to keep the connection alive", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverOpens();
    expect(timers.delays()).toEqual([25_000]);
    timers.runAll();
    expect(FakeSocket.latest().sent).toContainEqual({ type: "PING" });
  });

  it("reconnects at once when asked to while waiting out the backoff, and backs off on if that fails", () => {
    const { c, timers } = client();
    c.start();
    FakeSocket.latest().serverCloses();
    timers.runAll();
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([750]);
    c.retryNow();
    expect(FakeSocket.instances).toHaveLength(3);
    expect(timers.pending.size).toBe(0);
    FakeSocket.latest().serverCloses();
    expect(timers.delays()).toEqual([1500]);
  });

  it("ignores a request to reconnect while connected, connecting or stopped", () => {
    const { c } = client();
    c.retryNow();
    expect(FakeSocket.instances).toHaveLength(0);
    c.start();
    c.retryNow();
    FakeSocket.latest().serverOpens();
    c.retryNow();
    expect(FakeSocket.instances).toHaveLength(1);
    FakeSocket.latest().serverCloses();
    c.stop();
    c.retryNow();
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("stays closed after stop, with no reconnect scheduled", () => {
    const { c, timers } = client();
    c.start();
    const socket = FakeSocket.latest();
    socket.serverOpens();
    c.stop();
    expect(socket.closed).toBe(true);
    expect(c.status).toBe("closed");
    expect(timers.pending.size).toBe(0);
    expect(FakeSocket.instances).toHaveLength(1);
  });
});
