"""The settings of a running platform: `KARTSHOPPE_*` environment variables over defaults.

This is the one place the environment is read. Entry points (the `kartshoppe` command, the
tools) build one `Settings`, apply their flags with `model_copy(update=...)`, and pass it down;
nothing below them looks at `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Bus = Literal["embedded", "kafka"]
Processors = Literal["embedded", "flink", "off"]
BUSES: tuple[Bus, ...] = ("embedded", "kafka")
PROCESSORS: tuple[Processors, ...] = ("embedded", "flink", "off")

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_PREFIX = "KARTSHOPPE_"
RATE_CLASSES = ("browse", "cart", "checkout", "events", "signin", "ws")
"""The route classes of `api.ratelimit.RouteClass`, one `KARTSHOPPE_RATE_<CLASS>` each."""


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
    """Run the event-store sink in this process (one instance per store; Flink mode has its own)."""
    abandon_after_s: int = 1800
    reservation_ttl_s: int = 900
    recovery_offer: str = "Complete your order today: 10% off"

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

    @field_validator("seed", "sink", "demo_users", mode="before")
    @classmethod
    def _on_unless_zero(cls, value: Any) -> Any:
        """Only `0` turns a switch off, as it always has."""
        return value != "0" if isinstance(value, str) else value

    @property
    def log_path(self) -> Path:
        return self.data_dir / "log.sqlite"

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
