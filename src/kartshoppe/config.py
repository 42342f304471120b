"""The settings of a running platform: `KARTSHOPPE_*` environment variables over defaults.

This is the one place the environment is read. Entry points (the `kartshoppe` command, the
tools) build one `Settings`, apply their flags with `model_copy(update=...)`, and pass it down;
nothing below them looks at `os.environ`.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kartshoppe.domain.checkout import (
    DEFAULT_TAX_RATES,
    ORDER_HOLD_MS,
    ShopRules,
    parse_tax_rates,
)
from kartshoppe.mail.outbox import Security, SmtpConfig

Bus = Literal["embedded", "kafka"]
Processors = Literal["embedded", "flink", "off"]
BUSES: tuple[Bus, ...] = ("embedded", "kafka")
PROCESSORS: tuple[Processors, ...] = ("embedded", "flink", "off")

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "KARTSHOPPE_"
RATE_CLASSES = ("browse", "cart", "checkout", "events", "signin", "ws")
"""The route classes of `api.ratelimit.RouteClass`, one `KARTSHOPPE_RATE_<CLASS>` each."""


def default_processor_processes(cores: int) -> int:
    """Two processes for the embedded processors where the server keeps cores of its own
    besides (four or more), else one: on two cores the second is the requests'."""
    return 2 if cores >= 4 else 1


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's share, not the host's)."""
    return len(os.sched_getaffinity(0))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    host: str = "0.0.0.0"
    port: int = 8080
    data_dir: Path = Path("data")
    bus: Bus = "embedded"
    bootstrap: str = "127.0.0.1:9092"
    processors: Processors = "embedded"
    seed: bool = True
    """Seed the demo catalog on first start (`KARTSHOPPE_SEED=0` turns it off)."""
    web_dir: Path = REPO_ROOT / "frontend" / "dist"
    warehouse_dir: str | None = Field(default=None, validation_alias="KARTSHOPPE_WAREHOUSE")
    """The event store's warehouse; `<data dir>/warehouse` when unset."""
    cache: Path | None = None
    """Downloaded Kafka and Flink installs; `<repo>/.cache` when unset."""

    sink: bool = True
    """Run the event-store sink, a child process of this server (one instance per store; Flink
    mode has its own)."""
    background_nice: int = Field(default=0, ge=0, le=19)
    """How much lower the server's children (the processors, the event-store sink) run than the
    server (a nice increment, with the batch scheduling policy), so their work after a write
    yields the core to the next request. 0 (the default) runs them at the server's priority:
    measured, a lower priority helped the add's p99 only under heavy load from other programs
    and cost it at low load (bench/results/write.md)."""
    processor_processes: int = Field(
        default_factory=lambda: default_processor_processes(usable_cores()), ge=1, le=4
    )
    """How many processes the embedded processors run in (`processors_process.spread`: about
    equal shares of their CPU), so they can use that many cores; they share the state file.
    The recommender is more than half of their work, so past 2 the gain is small
    (bench/results/processors.md); by default 2 on four cores or more, else 1."""
    log_retention_s: int = 7 * 24 * 3600
    """Embedded log: a record every consumer group and the event-store sink have passed leaves
    the log this long after its append (the store keeps it; views read it back from there);
    compacted topics keep their latest record per key. 0 keeps the whole log."""
    snapshot_every_s: float = 60.0
    """Embedded log: how often the views' snapshot is considered (written once
    `snapshot_min_records` were folded since the last), so a restart folds only the log's tail;
    one is also written at a clean stop. 0 or less: at a clean stop only."""
    snapshot_min_records: int = 10_000
    abandon_after_s: int = 1800
    stock_unchanged_after_s: int = 24 * 3600
    """`STOCK_UNCHANGED` alert for a product in stock whose level has not moved for this long."""
    reservation_ttl_s: int = ORDER_HOLD_MS // 1000
    """How long a checkout's reservation, and a placed order unpaid, holds its items."""
    shopper_state_ttl_s: int = 30 * 24 * 3600
    """The processors forget a shopper idle this long in event time (the recommender's history
    and lists; its pairs count within 30 days anyway), and so does the live view (its kept
    recommendations); 0 keeps every shopper."""
    recovery_offer: str = "Complete your order today: 10% off"
    recovery_percent: Decimal = Decimal(10)
    """The percentage off of the reminder's one-time code (keep it in step with the offer)."""
    tax_rates: str = DEFAULT_TAX_RATES
    """Percent by destination, `GB=20,US-CA=7.25` (docs/ARCHITECTURE.md, Checkout)."""
    free_shipping_over: Decimal = Decimal("50.00")
    smtp_host: str = ""
    """Empty: e-mails stay in the local outbox (operator: Admin > Outbox)."""
    smtp_port: int = 587
    smtp_security: Security = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "KartShoppe <orders@kartshoppe.dev>"
    public_url: str = ""
    """The shop's address as shoppers reach it, for links sent by e-mail (a password reset);
    empty: `http://localhost:<port>`. Never taken from a request's Host header, which whoever
    asks for the link would choose."""
    mailer: bool = True
    """Send the outbox from this process (one instance per shop, like the sink)."""

    log_level: str = "info"
    otel_exporter: str = "none"
    max_body_bytes: int = 1024 * 1024
    jwt_secret: str | None = None
    """Signs the tokens; the install's generated secret when unset (see `security.tokens`)."""
    jwt_ttl_seconds: int = 43_200
    demo_users: bool = True
    rate_browse: str | None = None
    rate_cart: str | None = None
    rate_checkout: str | None = None
    rate_events: str | None = None
    rate_signin: str | None = None
    rate_ws: str | None = None

    @field_validator("seed", "sink", "demo_users", "mailer", mode="before")
    @classmethod
    def _on_unless_zero(cls, value: Any) -> Any:
        """Only `0` turns a switch off, as it always has."""
        return value != "0" if isinstance(value, str) else value

    @property
    def shop_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def smtp(self) -> SmtpConfig:
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username,
            password=self.smtp_password,
            sender=self.mail_from,
        )

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite"

    @property
    def shop_rules(self) -> ShopRules:
        return ShopRules(
            tax_rates=parse_tax_rates(self.tax_rates),
            free_shipping_over=self.free_shipping_over,
            hold_ms=self.reservation_ttl_s * 1000,
        )

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log.sqlite"

    @property
    def snapshot_path(self) -> Path:
        return self.data_dir / "views.snapshot"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "processors.sqlite"

    @property
    def warehouse(self) -> str:
        return self.warehouse_dir or str(self.data_dir / "warehouse")

    @property
    def cache_dir(self) -> Path:
        return self.cache or REPO_ROOT / ".cache"

    def rate_limits(self) -> dict[str, str]:
        """The rate limits set, by variable name (`KARTSHOPPE_RATE_CART` -> `50/100`)."""
        texts = {name: getattr(self, f"rate_{name}") for name in RATE_CLASSES}
        return {f"{ENV_PREFIX}RATE_{n.upper()}": t for n, t in texts.items() if t is not None}
