"""Writes the JSON contracts the frontend's TypeScript types are generated from.

In `frontend/src/generated/`: `events.schema.json` comes from `kartshoppe.events.json_schema()`,
`openapi.json` from the FastAPI app's OpenAPI schema, `socket.schema.json` from the WebSocket
messages (`kartshoppe.api.messages.json_schema()`) and `countries.json` from the countries the
shop ships to (`kartshoppe.domain.checkout.COUNTRIES`: name, a postal code's example, the
regions an address must name), which the checkout form offers. With `--check` it writes nothing and exits 1
when a committed file differs from what the Python contract gives now.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "frontend" / "src" / "generated"


def _render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _events_schema() -> dict[str, Any]:
    from kartshoppe.events import json_schema

    return json_schema()


def _socket_schema() -> dict[str, Any]:
    from kartshoppe.api.messages import json_schema

    return json_schema()


def _openapi_schema() -> dict[str, Any]:
    config = importlib.import_module("kartshoppe.config")
    create_app = importlib.import_module("kartshoppe.api.app").create_app
    # building the app sets up its data directory (secrets, users): keep that out of the tree
    with tempfile.TemporaryDirectory(prefix="kartshoppe-openapi-") as data_dir:
        settings = config.Settings(data_dir=Path(data_dir))
        schema: dict[str, Any] = create_app(settings).openapi()
    return schema


def _countries() -> dict[str, Any]:
    from kartshoppe.domain.checkout import COUNTRIES

    return {
        "countries": [
            {
                "code": code,
                "name": rule.name,
                "postalExample": rule.postal_example,
                "regions": sorted(rule.regions),
            }
            for code, rule in COUNTRIES.items()
        ]
    }


def contracts() -> dict[str, str]:
    """File name to rendered JSON for every contract the frontend consumes."""
    return {
        "events.schema.json": _render(_events_schema()),
        "openapi.json": _render(_openapi_schema()),
        "socket.schema.json": _render(_socket_schema()),
        "countries.json": _render(_countries()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for name, text in contracts().items():
        path = OUT / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            f"out of date with the Python contract: {', '.join(stale)}; "
            "run `npm run gen:types` in frontend/",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
