"""The traffic simulator: shoppers from the persona model, driven through the public API.

`kartshoppe simulate --users N --rate R --duration S --base-url URL` runs N concurrent shoppers
for S seconds, together sending at most R HTTP requests a second, against URL only (default
http://127.0.0.1:8080). Each shopper takes a persona (see `shoppers`), opens its WebSocket
(`/ecommerce/{sessionId}/{userId}`), then plays a session: browse or search the catalog, view
products (tracked via `POST /events` or the WebSocket's `TRACK`), add and remove cart lines,
check out and pay, or leave with a full cart; its socket stays open a moment after the last
action (`LINGER_S`), as a shopper reads the last page. With probability `RETURN_P` the same
user comes back with a new session, else a new shopper takes the slot. About a third of the
shoppers stay anonymous.

Abandonment is counted as the shop defines it (`processors.abandoned_carts`): a cart belongs to
the account, else the session, so a signed-in shopper's cart outlives its session and a shopper
who comes back has not abandoned it. `abandoned` counts the shoppers who left for good (or were
still shopping when the run ended) with items in their cart; `carted_sessions` the sessions that
added to the cart, the analytics funnel's `carts`. The shop's abandonment rate after its timeout
is `abandoned / carted_sessions`, provided no shopper pauses longer than that timeout.

The others sign in as a real client does: when such a shopper first arrives it registers an
account of its own (`POST /auth/register`, a unique email per run and slot), keeps the token and
sends it as `Authorization: Bearer` on each of its calls and as `?token=` on its WebSocket; a
returning shopper signs in again (`POST /auth/login`) once its token is about to expire. Sign-ins
are paced at `--signin-rate` a second (default 4, under the server's default sign-in limit of
5 a second per client address), so registrations spread out instead of arriving at once. An
anonymous shopper pays for its order naming the session it was placed from (`?sessionId=`).

A 4xx answer (a sold-out product, say) is a normal shop outcome and is counted as `rejected`,
except 401 and 403: the simulator always sends its own credentials, so a refusal is a defect and
counts as an error. A 429 answer is counted as `throttled`, and the call is retried after the
answer's `Retry-After`. `errors` also counts 5xx answers, transport failures and refused
WebSocket handshakes. The exit status is 0 when the run saw no errors, 1 otherwise, 2 when the
server could not be reached or the arguments are wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Final
from urllib.parse import quote, urlsplit

import httpx
import orjson
from rich.console import Console
from rich.live import Live
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from kartshoppe.simulate.shoppers import (
    Action,
    CatalogItem,
    Persona,
    ShopperModel,
    catalog_items,
)

PAYMENT = {"card": {"number": "4242424242424242", "expiry": "12/39", "cvc": "123"}}
"""Simulated shoppers pay with the test card that is always approved (docs/API.md)."""

API: Final = "/api/ecommerce"
ANONYMOUS_P: Final = 0.3
WS_TRACK_P: Final = 0.5
"""Share of product views tracked over the WebSocket instead of `POST /events`."""
MAX_USERS: Final = 5000
MAX_RATE: Final = 20_000.0
MAX_DURATION_S: Final = 24 * 3600.0
PAGE_SIZE: Final = 100
SAMPLE_ORDERS: Final = 20
SIGNIN_RATE: Final = 4.0
"""Sign-ins a second by default: under the server's default sign-in limit (5/s per address)."""
TOKEN_RENEW_MS: Final = 60_000
"""A token this close to expiry is renewed before a returning shopper's next session."""
EMAIL_DOMAIN: Final = "sim.kartshoppe.test"
MAX_RETRY_AFTER_S: Final = 60.0
LINGER_S: Final = 2.0
"""How long a shopper stays on the page it ended on before it leaves. Its socket stays open
meanwhile, in the background (the slot's next shopper starts at once, so the offered load is
unchanged), and gets what its last clicks cause: a recommendation leaves the processors about
1.1 s after its click (the watermark's allowed lateness), while a simulated session is over in
well under a second (a real shopper reads the page)."""
REFUSED: Final = (401, 403)


@dataclass(frozen=True, slots=True)
class SampleOrder:
    """An order placed in the run and what its owner needs to read it back."""

    order_id: str
    session_id: str
    user_id: str | None


@dataclass(slots=True)
class Account:
    """A simulated shopper's own account and its current token."""

    email: str
    password: str
    user_id: str
    token: str
    expires_at: int
    """Epoch milliseconds."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self, body: dict[str, Any]) -> None:
        self.token = body["token"]
        self.expires_at = body["expiresAt"]


@dataclass(slots=True)
class SimulationStats:
    requests: int = 0
    throttled: int = 0
    """429 answers: each was retried after its `Retry-After`."""
    accounts: int = 0
    """Accounts registered by signed-in shoppers."""
    signins: int = 0
    """Renewed tokens of returning shoppers (`POST /auth/login`)."""
    events_sent: int = 0
    sessions: int = 0
    returning_sessions: int = 0
    views: int = 0
    cart_adds: int = 0
    cart_removes: int = 0
    checkouts: int = 0
    orders: int = 0
    payments: int = 0
    abandoned: int = 0
    """Shoppers gone with items in their cart (see the module doc)."""
    carted_sessions: int = 0
    """Sessions with at least one accepted cart add."""
    rejected: int = 0
    errors: int = 0
    ws_messages: int = 0
    recommendations: int = 0
    elapsed_s: float = 0.0
    last_error: str = ""
    sample_orders: list[SampleOrder] = field(default_factory=list)
    """The first `SAMPLE_ORDERS` orders placed, for checking them afterwards."""

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    base_url: str = "http://127.0.0.1:8080"
    users: int = 20
    rate: float = 50.0
    duration_s: float = 60.0
    seed: int = 7
    signin_rate: float = SIGNIN_RATE


class Pacer:
    """Spaces calls evenly so that together they stay at or under `rate` a second."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        slot = max(self._next, now)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


def retry_after(answer: httpx.Response) -> float:
    """Seconds a 429 answer asks to wait (1 when its `Retry-After` is missing or a date)."""
    try:
        wait = float(answer.headers.get("retry-after", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)


def ws_base(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"


async def fetch_catalog(client: httpx.AsyncClient) -> list[CatalogItem]:
    """Every product, page by page, from `GET /products`."""
    products: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = await client.get(f"{API}/products", params={"page": page, "pageSize": PAGE_SIZE})
        answer.raise_for_status()
        body = answer.json()
        products.extend(body["items"])
        if not body["items"] or len(products) >= body["total"]:
            return catalog_items(products)
        page += 1


class Simulation:
    """One simulator run: shared client, pacers, model and counters."""

    def __init__(self, config: SimulationConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client
        self.pacer = Pacer(config.rate)
        self.signin_pacer = Pacer(config.signin_rate)
        self.stats = SimulationStats()
        self.rng = random.Random(config.seed)
        self.run_id = uuid.uuid4().hex[:8]
        self.model: ShopperModel | None = None
        self.deadline = 0.0
        self._leaving: set[asyncio.Task[None]] = set()

    def _time_left(self) -> bool:
        return time.monotonic() < self.deadline

    async def request(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """One API call under the rate limit, as `account` when given; retried after a 429's
        `Retry-After`. None when it failed or the run is over."""
        if account is not None:
            kwargs["headers"] = {**kwargs.get("headers", {}), **account.headers}
        while True:
            await self.pacer.wait()
            if not self._time_left():
                return None
            self.stats.requests += 1
            try:
                answer = await self.client.request(method, API + path, **kwargs)
            except httpx.HTTPError as exc:
                self._error(f"{method} {path}: {type(exc).__name__}: {exc}")
                return None
            if answer.status_code != 429:
                break
            self.stats.throttled += 1
            wait = retry_after(answer)
            if time.monotonic() + wait >= self.deadline:
                return None
            await asyncio.sleep(wait)
        if answer.status_code >= 500 or answer.status_code in REFUSED:
            self._error(f"{method} {path}: HTTP {answer.status_code}: {answer.text[:200]}")
            return None
        if answer.status_code >= 400:
            self.stats.rejected += 1
            return None
        return answer

    def _error(self, message: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = message

    async def run(self) -> SimulationStats:
        started = time.monotonic()
        self.model = ShopperModel(await fetch_catalog(self.client), self.config.seed)
        self.deadline = started + self.config.duration_s
        slots = [asyncio.create_task(self._slot(n)) for n in range(self.config.users)]
        try:
            await asyncio.wait(slots, timeout=self.config.duration_s + 5.0)
        finally:
            for task in slots:
                task.cancel()
            await asyncio.gather(*slots, return_exceptions=True)
            self.stats.elapsed_s = time.monotonic() - started
            # the last shoppers leave as the others did: after their last page
            await asyncio.gather(*self._leaving, return_exceptions=True)
        return self.stats

    async def _slot(self, slot: int) -> None:
        """One shopper slot: shoppers one after the other, some returning as the same user."""
        model = self.model
        assert model is not None
        visitor = 0
        while self._time_left():
            visitor += 1
            anonymous = self.rng.random() < ANONYMOUS_P
            persona = model.persona()
            account = None if anonymous else await self._register(slot, visitor, persona)
            returning = False
            # the shop's cart of this shopper: an account's outlives its sessions
            cart: set[str] = set()
            try:
                while self._time_left():
                    session_id = f"sim_{self.run_id}_{slot}_{visitor}_{uuid.uuid4().hex[:8]}"
                    self.stats.sessions += 1
                    self.stats.returning_sessions += returning
                    await self._session(session_id, account, model.session(persona), cart)
                    if account is None or not model.returns():
                        break
                    returning = True
                    await self._renew(account)
            finally:
                self.stats.abandoned += bool(cart)

    async def _register(self, slot: int, visitor: int, persona: Persona) -> Account | None:
        """A new account for this shopper; None (it shops anonymously) if none was made."""
        email = f"sim-{self.config.seed}-{self.run_id}-{slot}-{visitor}@{EMAIL_DOMAIN}"
        password = secrets.token_urlsafe(12)
        await self.signin_pacer.wait()
        body = {"email": email, "password": password, "name": persona.name}
        answer = await self.request("POST", "/auth/register", json=body)
        if answer is None:
            return None
        self.stats.accounts += 1
        issued = answer.json()
        return Account(email, password, issued["userId"], issued["token"], issued["expiresAt"])

    async def _renew(self, account: Account) -> None:
        """Sign in again when the token is about to expire, as a returning visitor would."""
        if account.expires_at - time.time() * 1000 > TOKEN_RENEW_MS:
            return
        await self.signin_pacer.wait()
        body = {"email": account.email, "password": account.password}
        answer = await self.request("POST", "/auth/login", json=body)
        if answer is not None:
            self.stats.signins += 1
            account.renew(answer.json())

    def _socket_url(self, session_id: str, account: Account | None) -> str:
        user = quote(account.user_id, safe="") if account else "anonymous"
        url = f"{ws_base(self.config.base_url)}/ecommerce/{quote(session_id, safe='')}/{user}"
        return f"{url}?token={quote(account.token, safe='')}" if account else url

    async def _session(
        self, session_id: str, account: Account | None, actions: list[Action], cart: set[str]
    ) -> None:
        url = self._socket_url(session_id, account)
        try:
            ws = await connect(url, open_timeout=5, close_timeout=1)
        except (OSError, TimeoutError, WebSocketException) as exc:
            # the token is not part of the message: error text ends up in logs and reports
            where = url.partition("?")[0]
            self._error(f"WebSocket {where}: {type(exc).__name__}: {exc}")
            await self._play(session_id, account, actions, None, cart)
            return
        reader = asyncio.create_task(self._read(ws))
        try:
            await self._play(session_id, account, actions, ws, cart)
        finally:
            leaving = asyncio.create_task(self._leave(ws, reader))
            self._leaving.add(leaving)
            leaving.add_done_callback(self._leaving.discard)

    @staticmethod
    async def _leave(ws: ClientConnection, reader: asyncio.Task[None]) -> None:
        """Close the socket `LINGER_S` after the session's last action (sooner if the server
        closed it), reading what it is sent meanwhile."""
        await asyncio.wait({reader}, timeout=LINGER_S)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        with contextlib.suppress(Exception):
            await ws.close()

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                self.stats.ws_messages += 1
                message = orjson.loads(raw)
                kind = message.get("type") if isinstance(message, dict) else None
                if kind == "RECOMMENDATION":
                    self.stats.recommendations += 1
                elif kind == "ERROR":
                    # the shop refused something sent over the socket, like a 4xx answer
                    self.stats.rejected += 1
                    self.stats.last_error = f"WebSocket ERROR: {message.get('error')}"

    async def _track(
        self, event: dict[str, Any], account: Account | None, ws: ClientConnection | None
    ) -> None:
        event["timestamp"] = int(time.time() * 1000)
        if ws is not None and self.rng.random() < WS_TRACK_P:
            await self.pacer.wait()
            try:
                await ws.send(orjson.dumps({"type": "TRACK", "event": event}).decode())
            except Exception as exc:  # a closed socket must not end the shopper's session
                self._error(f"WebSocket send: {type(exc).__name__}: {exc}")
                return
            self.stats.requests += 1
            self.stats.events_sent += 1
            return
        answer = await self.request("POST", "/events", account, json=[event])
        if answer is not None:
            self.stats.events_sent += answer.json().get("accepted", 0)

    async def _play(
        self,
        session_id: str,
        account: Account | None,
        actions: list[Action],
        ws: ClientConnection | None,
        cart: set[str],
    ) -> None:
        ids: dict[str, Any] = {"sessionId": session_id}
        owner: dict[str, Any] = {"userId": account.user_id} if account is not None else {}
        ids.update(owner)
        # an anonymous order is the session's: it is read and paid naming that session
        order_access = {} if account is not None else {"sessionId": session_id}
        carted = False
        order_id: str | None = None
        for action in actions:
            if not self._time_left():
                return
            pid = action.product_id
            if action.kind == "browse":
                params = {"category": action.category}
                await self.request("GET", "/products", account, params=params)
                page = f"/category/{action.category}"
                await self._track({"eventType": "PAGE_VIEW", "page": page, **ids}, account, ws)
            elif action.kind == "search" and action.query:
                params = {"q": action.query}
                answer = await self.request("GET", "/products", account, params=params)
                found = answer.json().get("total", 0) if answer is not None else 0
                event = {"eventType": "SEARCH", "query": action.query, "resultCount": found}
                await self._track({**event, **ids}, account, ws)
            elif action.kind == "view" and pid:
                await self.request("GET", f"/product/{pid}", account)
                event = {"eventType": "PRODUCT_VIEW", "productId": pid, **ids}
                await self._track(event, account, ws)
                self.stats.views += 1
            elif action.kind == "add" and pid:
                body = {"productId": pid, "quantity": action.quantity, **owner}
                if await self.request("POST", f"/cart/{session_id}/add", account, json=body):
                    cart.add(pid)
                    self.stats.cart_adds += 1
                    self.stats.carted_sessions += not carted
                    carted = True
            elif action.kind == "remove" and pid in cart:
                body = {"productId": pid, **owner}
                if await self.request("POST", f"/cart/{session_id}/remove", account, json=body):
                    cart.discard(pid)
                    self.stats.cart_removes += 1
            elif action.kind == "checkout" and cart:
                self.stats.checkouts += 1
                body = {"sessionId": session_id, "idempotencyKey": f"ik_{session_id}", **owner}
                answer = await self.request("POST", "/checkout", account, json=body)
                if answer is not None:
                    order_id = answer.json()["orderId"]
                    self.stats.orders += 1
                    if len(self.stats.sample_orders) < SAMPLE_ORDERS:
                        user_id = account.user_id if account is not None else None
                        sample = SampleOrder(order_id, session_id, user_id)
                        self.stats.sample_orders.append(sample)
                    cart.clear()
            elif action.kind == "pay" and order_id:
                path = f"/orders/{order_id}/pay"
                if await self.request("POST", path, account, params=order_access, json=PAYMENT):
                    self.stats.payments += 1


def _table(stats: SimulationStats, config: SimulationConfig) -> Table:
    table = Table(title=f"kartshoppe simulate -> {config.base_url}", show_header=False)
    elapsed = f"{stats.elapsed_s:,.0f} / {config.duration_s:,.0f} s"
    rows = [
        ("elapsed", elapsed),
        ("requests (rate)", f"{stats.requests:,} ({stats.rate:,.1f}/s of {config.rate:,.0f})"),
        ("throttled (429, retried)", f"{stats.throttled:,}"),
        ("accounts registered (sign-ins)", f"{stats.accounts:,} ({stats.signins:,})"),
        ("tracking events sent", f"{stats.events_sent:,}"),
        ("sessions (returning)", f"{stats.sessions:,} ({stats.returning_sessions:,})"),
        (
            "views / adds / removes",
            f"{stats.views:,} / {stats.cart_adds:,} / {stats.cart_removes:,}",
        ),
        (
            "orders / paid / abandoned carts",
            f"{stats.orders:,} / {stats.payments:,} / {stats.abandoned:,}",
        ),
        ("WebSocket messages (recos)", f"{stats.ws_messages:,} ({stats.recommendations:,})"),
        ("rejected (4xx)", f"{stats.rejected:,}"),
        ("errors", f"{stats.errors:,}"),
    ]
    if stats.last_error:
        rows.append(("last error", stats.last_error[:120]))
    for name, value in rows:
        table.add_row(name, value)
    return table


async def simulate(
    config: SimulationConfig, on_tick: Callable[[SimulationStats], None] | None = None
) -> SimulationStats:
    """Run the simulator; `on_tick` sees the live counters about four times a second."""
    limits = httpx.Limits(max_connections=min(config.users, 100) + 4)
    async with httpx.AsyncClient(base_url=config.base_url, timeout=10.0, limits=limits) as client:
        sim = Simulation(config, client)
        run = asyncio.create_task(sim.run())
        started = time.monotonic()
        while not run.done():
            await asyncio.wait({run}, timeout=0.25)
            if on_tick is not None and not run.done():
                sim.stats.elapsed_s = time.monotonic() - started
                on_tick(sim.stats)
        return run.result()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kartshoppe simulate",
        description="Drive realistic shoppers through the public HTTP and WebSocket API.",
    )
    parser.add_argument(
        "--users", type=int, default=20, help=f"concurrent shoppers (1-{MAX_USERS})"
    )
    parser.add_argument(
        "--rate", type=float, default=50.0, help="HTTP requests per second, at most"
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run")
    parser.add_argument("--base-url", default="http://127.0.0.1:8080", help="the shop to drive")
    parser.add_argument("--seed", type=int, default=7, help="seed of the shopper model")
    parser.add_argument(
        "--signin-rate",
        type=float,
        default=SIGNIN_RATE,
        help="registrations and sign-ins per second, at most (keep under the server's limit)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live display, summary only")
    return parser


def parse_config(argv: list[str]) -> tuple[SimulationConfig, bool]:
    parser = _parser()
    args = parser.parse_args(argv)
    if not 1 <= args.users <= MAX_USERS:
        parser.error(f"--users must be between 1 and {MAX_USERS}")
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate must be above 0 and at most {MAX_RATE:,.0f}")
    if not 0 < args.duration <= MAX_DURATION_S:
        parser.error(f"--duration must be above 0 and at most {MAX_DURATION_S:,.0f} seconds")
    if not 0 < args.signin_rate <= MAX_RATE:
        parser.error(f"--signin-rate must be above 0 and at most {MAX_RATE:,.0f}")
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"--base-url must be an http(s) URL, got {args.base_url!r}")
    config = SimulationConfig(
        base_url=args.base_url.rstrip("/"),
        users=args.users,
        rate=args.rate,
        duration_s=args.duration,
        seed=args.seed,
        signin_rate=args.signin_rate,
    )
    return config, args.quiet


def simulate_main(argv: list[str]) -> int:
    """`kartshoppe simulate`: the exit status is described in the module docstring."""
    try:
        config, quiet = parse_config(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    console = Console(stderr=True)
    try:
        if quiet:
            stats = asyncio.run(simulate(config))
            console.print(_table(stats, config))
        else:
            with Live(
                _table(SimulationStats(), config), console=console, refresh_per_second=4
            ) as live:
                stats = asyncio.run(simulate(config, lambda s: live.update(_table(s, config))))
                live.update(_table(stats, config))
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot read the catalog from {config.base_url}: {exc}[/red]")
        return 2
    print(orjson.dumps(asdict(stats)).decode())
    return 0 if stats.errors == 0 else 1
