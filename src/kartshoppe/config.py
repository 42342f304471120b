"""Settings of a running platform, from command-line flags over `KARTSHOPPE_*` environment
variables over defaults. The adapters are chosen here and nowhere else."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal, TypeVar

from kartshoppe.domain.checkout import DEFAULT_TAX_RATES, ShopRules, parse_tax_rates
from kartshoppe.mail.outbox import Security, SmtpConfig

SECURITIES: tuple[Security, ...] = ("starttls", "none", "ssl")

Bus = Literal["embedded", "kafka"]
Processors = Literal["embedded", "flink", "off"]
BUSES: tuple[Bus, ...] = ("embedded", "kafka")
PROCESSORS: tuple[Processors, ...] = ("embedded", "flink", "off")
T = TypeVar("T", bound=str)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env(name: str, default: str) -> str:
    return os.environ.get(f"KARTSHOPPE_{name}", default)


def _choice(name: str, allowed: tuple[T, ...]) -> T:
    """The variable's value if it is one of `allowed` (the first is the default)."""
    value = _env(name, allowed[0])
    for option in allowed:
        if option == value:
            return option
    raise ValueError(f"KARTSHOPPE_{name} must be one of {', '.join(allowed)}, not {value!r}")


@dataclass(frozen=True)
class Settings:
    host: str = field(default_factory=lambda: _env("HOST", "0.0.0.0"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8080")))
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "data")))
    bus: Bus = field(default_factory=lambda: _choice("BUS", BUSES))
    bootstrap: str = field(default_factory=lambda: _env("BOOTSTRAP", "127.0.0.1:9092"))
    processors: Processors = field(default_factory=lambda: _choice("PROCESSORS", PROCESSORS))
    seed: bool = field(default_factory=lambda: _env("SEED", "1") != "0")
    web_dir: Path = field(
        default_factory=lambda: Path(_env("WEB_DIR", str(REPO_ROOT / "frontend" / "dist")))
    )

    sink: bool = field(default_factory=lambda: _env("SINK", "1") != "0")
    """Run the event-store sink in this process (one instance per store; Flink mode has its own)."""
    abandon_after_s: int = field(default_factory=lambda: int(_env("ABANDON_AFTER_S", "1800")))
    reservation_ttl_s: int = field(default_factory=lambda: int(_env("RESERVATION_TTL_S", "900")))
    recovery_offer: str = field(
        default_factory=lambda: _env("RECOVERY_OFFER", "Complete your order today: 10% off")
    )
    recovery_percent: Decimal = field(
        default_factory=lambda: Decimal(_env("RECOVERY_PERCENT", "10"))
    )
    """The percentage off of the reminder's one-time code (keep it in step with the offer)."""

    tax_rates: str = field(default_factory=lambda: _env("TAX_RATES", DEFAULT_TAX_RATES))
    """Percent by destination, `GB=20,US-CA=7.25` (docs/ARCHITECTURE.md, Checkout)."""
    free_shipping_over: Decimal = field(
        default_factory=lambda: Decimal(_env("FREE_SHIPPING_OVER", "50.00"))
    )

    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", ""))
    """Empty: e-mails stay in the local outbox (operator: Admin > Outbox)."""
    smtp_port: int = field(default_factory=lambda: int(_env("SMTP_PORT", "587")))
    smtp_security: Security = field(default_factory=lambda: _choice("SMTP_SECURITY", SECURITIES))
    smtp_username: str = field(default_factory=lambda: _env("SMTP_USERNAME", ""))
    smtp_password: str = field(default_factory=lambda: _env("SMTP_PASSWORD", ""))
    mail_from: str = field(
        default_factory=lambda: _env("MAIL_FROM", "KartShoppe <orders@kartshoppe.dev>")
    )
    mailer: bool = field(default_factory=lambda: _env("MAILER", "1") != "0")
    """Send the outbox from this process (one instance per shop, like the sink)."""

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
            tax_rates=parse_tax_rates(self.tax_rates), free_shipping_over=self.free_shipping_over
        )

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log.sqlite"

    @property
    def state_path(self) -> Path:
        return self.data_dir / "processors.sqlite"

    @property
    def warehouse(self) -> str:
        return _env("WAREHOUSE", str(self.data_dir / "warehouse"))
