/**
 * A small browser-test harness: starts the real KartShoppe server on a free loopback port with a
 * temporary data directory, drives Debian's chromium through playwright-core, fails a test on any
 * console error of its pages, and prints `N passed, M failed`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(FRONTEND, "..");
export const SCREENSHOTS = join(REPO, "test-artifacts", "screenshots");

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((ok) => setTimeout(ok, ms));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(what: string, check: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

export class Server {
  private proc: ChildProcess | null = null;
  readonly dataDir: string;
  readonly logPath: string;

  constructor(readonly port: number) {
    this.dataDir = mkdtempSync(join(tmpdir(), "kartshoppe-e2e-"));
    this.logPath = join(this.dataDir, "server.log");
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const python = process.env.PYTHON ?? join(REPO, ".venv", "bin", "python");
    const log = openSync(this.logPath, "a");
    const args = ["-m", "kartshoppe", "serve", "--host", "127.0.0.1", "--port", String(this.port), "--data-dir", join(this.dataDir, "data")];
    this.proc = spawn(python, args, {
      cwd: REPO,
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, PYTHONUNBUFFERED: "1", KARTSHOPPE_WEB_DIR: join(FRONTEND, "dist") },
    });
    await eventually("the server to be ready", async () => {
      if (this.proc?.exitCode !== null) throw new Error(`server exited: ${this.logTail()}`);
      const res = await fetch(`${this.base}/ready`);
      return res.status === 200;
    }, 60_000);
  }

  logTail(chars = 4000): string {
    try {
      return readFileSync(this.logPath, "utf-8").slice(-chars);
    } catch {
      return "";
    }
  }

  /** Stops the server and starts it again on the same port and data directory. */
  async restart(): Promise<void> {
    await this.halt();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.halt();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async halt(): Promise<void> {
    const proc = this.proc;
    if (proc?.pid && proc.exitCode === null) {
      const exited = new Promise((ok) => proc.once("exit", ok));
      try {
        process.kill(-proc.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([exited, sleep(10_000)]);
      try {
        process.kill(-proc.pid, "SIGKILL");
      } catch {
        // exited cleanly
      }
    }
  }

  async api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
    const headers: Record<string, string> = body === undefined ? {} : { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`${this.base}/api/ecommerce${path}`, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

export interface TestContext {
  server: Server;
  /** A fresh browser context whose pages fail the test on console errors. */
  newContext: (options?: { width?: number; height?: number }) => Promise<BrowserContext>;
  newPage: (context?: BrowserContext) => Promise<Page>;
  screenshot: (page: Page, name: string) => Promise<void>;
  /** Console errors matching this are expected in the test (e.g. refused connections while the server is down). */
  expectConsoleErrors: (pattern: RegExp) => void;
}

async function failureScreenshots(name: string, contexts: BrowserContext[]): Promise<void> {
  const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  let n = 0;
  for (const context of contexts) {
    for (const page of context.pages()) {
      n += 1;
      await page.screenshot({ path: join(SCREENSHOTS, `FAILED-${slug}-${n}.png`) }).catch(() => undefined);
    }
  }
}

/**
 * The last API answers and socket messages of a test's pages, printed when it fails: what the
 * page was told, and when, is what a flaky live update needs to be explained.
 */
class Traffic {
  private readonly kept: string[] = [];

  constructor(
    private readonly started: number,
    private readonly max = 80,
  ) {}

  follow(page: Page): void {
    page.on("response", (res) => {
      const url = new URL(res.url());
      if (url.pathname.startsWith("/api/")) this.note(`${res.request().method()} ${url.pathname} ${res.status()}`);
    });
    page.on("websocket", (socket) => {
      this.note(`socket open ${new URL(socket.url()).pathname}`);
      socket.on("framereceived", (frame) => {
        const text = String(frame.payload);
        if (!text.includes('"PONG"') && !text.includes('"ANALYTICS"')) this.note(`socket <- ${text.slice(0, 200)}`);
      });
      socket.on("close", () => this.note("socket closed"));
    });
  }

  lines(): string[] {
    return this.kept.length > 0 ? this.kept : ["(none)"];
  }

  private note(line: string): void {
    this.kept.push(`${((Date.now() - this.started) / 1000).toFixed(2)} s ${line}`);
    if (this.kept.length > this.max) this.kept.shift();
  }
}

type TestFn = (t: TestContext) => Promise<void>;
const tests: { name: string; fn: TestFn }[] = [];

export function test(name: string, fn: TestFn): void {
  tests.push({ name, fn });
}

export async function runAll(): Promise<number> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  for (const old of readdirSync(SCREENSHOTS)) {
    if (old.startsWith("FAILED-")) rmSync(join(SCREENSHOTS, old));
  }
  const server = new Server(await freePort());
  let browser: Browser | null = null;
  let passed = 0;
  let failed = 0;
  try {
    await server.start();
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const only = process.env.E2E_ONLY;
    for (const { name, fn } of tests.filter((x) => !only || x.name.includes(only))) {
      const contexts: BrowserContext[] = [];
      const consoleErrors: string[] = [];
      const expected: RegExp[] = [];
      const started = Date.now();
      const traffic = new Traffic(started);
      const ctx: TestContext = {
        server,
        newContext: async (options) => {
          const context = await browser!.newContext({
            baseURL: server.base,
            viewport: { width: options?.width ?? 1280, height: options?.height ?? 900 },
          });
          contexts.push(context);
          return context;
        },
        newPage: async (context) => {
          const owner = context ?? (await ctx.newContext());
          const page = await owner.newPage();
          page.on("console", (msg) => {
            if (msg.type() !== "error") return;
            const text = `${msg.text()} ${msg.location().url}`;
            if (expected.some((pattern) => pattern.test(text))) return;
            consoleErrors.push(`${page.url()}: ${msg.text()} ${msg.location().url}`);
          });
          page.on("pageerror", (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
          traffic.follow(page);
          return page;
        },
        expectConsoleErrors: (pattern) => {
          expected.push(pattern);
        },
        screenshot: async (page, fileName) => {
          await page.screenshot({ path: join(SCREENSHOTS, `${fileName}.png`), fullPage: true });
        },
      };
      try {
        await fn(ctx);
        if (consoleErrors.length > 0) throw new Error(`console errors:\n  ${consoleErrors.join("\n  ")}`);
        passed += 1;
        console.log(`PASS ${name} (${Date.now() - started} ms)`);
      } catch (err) {
        failed += 1;
        console.log(`FAIL ${name} (${Date.now() - started} ms)\n  ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        if (consoleErrors.length > 0) console.log(`  console errors:\n    ${consoleErrors.join("\n    ")}`);
        console.log(`  the pages' last API answers and socket messages:\n    ${traffic.lines().join("\n    ")}`);
        await failureScreenshots(name, contexts);
      } finally {
        for (const c of contexts) await c.close().catch(() => undefined);
      }
    }
  } catch (err) {
    failed += Math.max(1, tests.length - passed - failed);
    console.log(`FAIL setup: ${err instanceof Error ? err.message : String(err)}\n${server.logTail()}`);
  } finally {
    if (failed > 0) console.log(`--- server log tail ---\n${server.logTail(2000)}`);
    await browser?.close().catch(() => undefined);
    await server.stop();
  }
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
