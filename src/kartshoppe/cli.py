"""The `kartshoppe` command: `serve` the platform, and the tools around it."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kartshoppe.config import Settings

SERVERS = ("uvicorn", "granian")
"""The HTTP servers `serve` can run the app on; the first is the default."""


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the platform (embedded mode by default)")
    serve.add_argument("--host", help="listen address (KARTSHOPPE_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (KARTSHOPPE_PORT, default 8080)")
    serve.add_argument("--data-dir", type=Path, help="data directory (KARTSHOPPE_DATA_DIR)")
    serve.add_argument("--bus", choices=["embedded", "kafka"], help="event log (KARTSHOPPE_BUS)")
    serve.add_argument("--bootstrap", help="Kafka bootstrap servers (KARTSHOPPE_BOOTSTRAP)")
    serve.add_argument(
        "--processors", choices=["embedded", "flink", "off"], help="KARTSHOPPE_PROCESSORS"
    )
    serve.add_argument("--no-seed", action="store_true", help="do not seed the demo catalog")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=SERVERS[0],
        help="HTTP server (default uvicorn)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=1,
        help="worker processes on the one port, embedded mode (default 1; docs/ARCHITECTURE.md)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Collector:
    """The garbage collector, paused while a command imports its modules and builds its app.

    `serve` imports about a second of modules (FastAPI, pydantic and the models they build):
    hundreds of thousands of objects, none of them garbage, over which the collector would
    make over a thousand passes (one over everything) for nothing: about 0.07 s of CPU before
    `/ready` (bench/results/startup.md). A server resumes it with what was made frozen (out of
    the collector's sight from then on, as the app's lifespan does with its start-up heap).
    """

    def __init__(self) -> None:
        self._paused = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Paused within (unless it was off already), collecting again afterwards whatever
        happened (a usage error ends in `SystemExit`)."""
        self._paused = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            self.resume()

    def resume(self, freeze: bool = False) -> None:
        """Collecting again, if paused; with `freeze`, what exists now is never walked again."""
        if self._paused:
            self._paused = False
            if freeze:
                gc.freeze()
            gc.enable()


COLLECTOR = Collector()


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with the flags given on top."""
    from kartshoppe.config import Settings

    flags = {
        "host": args.host,
        "port": args.port,
        "data_dir": args.data_dir,
        "bus": args.bus,
        "bootstrap": args.bootstrap,
        "processors": args.processors,
        "seed": False if args.no_seed else None,
    }
    return Settings().model_copy(update={k: v for k, v in flags.items() if v is not None})


def _kafka_unreachable(bootstrap: str) -> str | None:
    """Why the Kafka cluster at `bootstrap` cannot be used, or None if it can.

    Checked before the app is even imported (that alone takes seconds): a start-up failure
    inside uvicorn would end in a traceback, later.
    """
    import asyncio

    from kartshoppe.eventlog.kafka import KafkaEventLog
    from kartshoppe.eventlog.port import LogUnavailableError

    async def probe() -> None:
        async with KafkaEventLog(bootstrap):
            pass

    try:
        asyncio.run(probe())
    except LogUnavailableError as exc:
        return str(exc)
    return None


WORKER_FLAGS = "KARTSHOPPE_SERVE_FLAGS"
"""How `serve --server granian` hands its flags to the worker process granian starts (granian
builds the app there from an import path); not a setting, `Settings` ignores it."""


def worker_app() -> Any:
    """The app granian's worker serves: the environment's settings with the parent's flags."""
    with COLLECTOR.paused():
        from kartshoppe.api.app import create_app
        from kartshoppe.config import Settings

        flags: dict[str, Any] = json.loads(os.environ.get(WORKER_FLAGS, "{}"))
        app = create_app(Settings(**flags))
        COLLECTOR.resume(freeze=True)
        return app


def _hand_flags_to_workers(settings: Settings) -> None:
    """Put the flags given (the settings that differ from the environment's) where the worker
    processes the server starts find them (`worker_app`)."""
    from kartshoppe.config import Settings

    from_env = Settings()
    changed = {
        name for name in Settings.model_fields if getattr(settings, name) != getattr(from_env, name)
    }
    os.environ[WORKER_FLAGS] = json.dumps(settings.model_dump(mode="json", include=changed))


def _granian(settings: Settings, workers: int) -> None:
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels
    from granian.server import Server

    _hand_flags_to_workers(settings)
    COLLECTOR.resume(freeze=True)
    Server(
        "kartshoppe.cli:worker_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        loop=Loops.uvloop,
        factory=True,
        log_level=LogLevels.warning,
        workers=workers,
        respawn_failed_workers=True,
    ).serve()


KEEP_ALIVE_S = 75
"""How long an idle connection is kept open for the client's next request (uvicorn's default:
5 s). Longer than clients keep one for reuse (httpx 5 s, browsers and proxies a minute or so),
so that it is the client that lets an idle connection go: a server closing one just as the
client sends on it fails that request, and a client does not send a POST again (a CI run's
`RemoteProtocolError` at exactly 5 s on both sides). nginx's default, too."""

WORKER_HEALTHCHECK_S = 30
"""How long uvicorn's supervisor waits for a worker's ping before it replaces the worker (its
default, 5 s, is shorter than a start takes on a loaded machine)."""


def _uvicorn(settings: Settings, workers: int) -> None:
    import uvicorn

    from kartshoppe.api.hot_protocol import HotReadsProtocol

    app: Any = "kartshoppe.cli:worker_app"
    if workers == 1:
        from kartshoppe.api.app import create_app

        app = create_app(settings)
    else:
        # the workers are new processes: they build the app from an import path
        _hand_flags_to_workers(settings)
    COLLECTOR.resume(freeze=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # httptools, with the hot catalog reads answered by the protocol itself
        http=HotReadsProtocol,
        log_level="warning",
        # no `server: uvicorn` on every answer: one header less to write a request, and the
        # server software not advertised
        server_header=False,
        timeout_keep_alive=KEEP_ALIVE_S,
        # sans-I/O: no reader, pinger and closer tasks per socket. No permessage-deflate: a
        # compressor per socket costs tens of KB each and compresses every push once per socket
        # (the messages are small); without it a push is encoded once for all.
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        factory=workers > 1,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


def serve(settings: Settings, server: str = SERVERS[0], workers: int = 1) -> int:
    if settings.bus == "kafka" and workers > 1:
        # the workers would share one instance id, hence one transactional id, and fence
        # each other: on Kafka, scale with instances (each its own data directory)
        print(
            "kartshoppe serve: --workers is for embedded mode; on Kafka, start more instances",
            file=sys.stderr,
        )
        return 2
    if settings.bus == "kafka" and (problem := _kafka_unreachable(settings.bootstrap)) is not None:
        print(f"kartshoppe serve: {problem}", file=sys.stderr)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if server == "granian":
        _granian(settings, workers)
    else:
        _uvicorn(settings, workers)
    return 0


TOOLS: dict[str, tuple[str, str, str]] = {
    "simulate": ("kartshoppe.simulate", "simulate_main", "drive simulated shoppers"),
    "evaluate-recs": ("kartshoppe.simulate", "evaluate_main", "measure recommendation quality"),
    "audit": ("kartshoppe.commands.audit", "audit_main", "event history from the event store"),
    "sql": ("kartshoppe.commands.sql", "sql_main", "SQL or a named report over the store"),
    "timetravel": ("kartshoppe.commands.timetravel", "timetravel_main", "state as of a snapshot"),
    "replay": ("kartshoppe.commands.replay", "replay_main", "rebuild a data dir from the store"),
    "kafka": ("kartshoppe.infra.kafka_broker", "main", "a local Kafka broker: start|stop|status"),
    "flink-job": ("kartshoppe.flink.launcher", "flink_job_main", "run the processors on Flink"),
    "flink-cluster": (
        "kartshoppe.flink.cluster",
        "cluster_main",
        "a standalone Flink cluster: start|status|stop",
    ),
    "stack": ("kartshoppe.infra.stack", "stack_main", "the distributed stack: up|status|down"),
}
"""Commands whose own parser lives beside their code: name -> (module, function, help)."""


def _tool(name: str) -> Callable[[list[str]], int]:
    module, function, _ = TOOLS[name]
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with COLLECTOR.paused():
        return _command(argv)


def _command(argv: list[str]) -> int:
    if argv and argv[0] in TOOLS:
        entry = _tool(argv[0])
        COLLECTOR.resume()
        return entry(argv[1:])
    parser = argparse.ArgumentParser(prog="kartshoppe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_parser(sub)
    for name, (_, _, help_text) in TOOLS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(_settings(args), args.server, args.workers)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
