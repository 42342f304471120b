"""Copy the icons the product pictures use from the npm illustration sets into the server's asset.

The sets are installed by `npm ci` in `illustrations/` (`make illustrations` does both steps).
Only the icons `kartshoppe.pictures.match` names are copied, with each set's name, version,
author and licence, into `src/kartshoppe/pictures/illustrations.json`, which the server ships.
`--check` compares the committed asset with a fresh extraction and fails when they differ (a rule
names an icon the asset lacks, or the packages changed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kartshoppe.pictures.compose import ASSET
from kartshoppe.pictures.match import icons_used

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "illustrations" / "node_modules" / "@iconify-json"


def _icon(data: dict[str, Any], name: str) -> dict[str, Any]:
    icons, aliases = data["icons"], data.get("aliases", {})
    entry = icons.get(name)
    if entry is None and name in aliases:
        alias = aliases[name]
        if set(alias) != {"parent"}:
            raise SystemExit(f"{data['prefix']}:{name} is a transformed alias, pick its parent")
        entry = icons[alias["parent"]]
    if entry is None:
        raise SystemExit(f"{data['prefix']}:{name} is not in the set")
    return {
        "body": entry["body"],
        "width": entry.get("width", data.get("width", 16)),
        "height": entry.get("height", data.get("height", 16)),
    }


def extract() -> str:
    wanted = sorted(icons_used())
    sets: dict[str, Any] = {}
    icons: dict[str, Any] = {}
    loaded: dict[str, dict[str, Any]] = {}
    for key in wanted:
        prefix, name = key.split(":", 1)
        if prefix not in loaded:
            folder = PACKAGES / prefix
            if not folder.is_dir():
                raise SystemExit(f"{folder} is missing: run `make illustrations`")
            loaded[prefix] = json.loads((folder / "icons.json").read_text())
            info = json.loads((folder / "info.json").read_text())
            version = json.loads((folder / "package.json").read_text())["version"]
            sets[prefix] = {
                "name": info["name"],
                "package": f"@iconify-json/{prefix}@{version}",
                "author": info["author"],
                "license": info["license"],
            }
        icons[key] = _icon(loaded[prefix], name)
    return json.dumps({"sets": sets, "icons": icons}, indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the asset is stale")
    args = parser.parse_args()
    fresh = extract()
    if args.check:
        if not ASSET.is_file() or ASSET.read_text() != fresh:
            print(f"{ASSET} is stale: run `make illustrations`", file=sys.stderr)
            return 1
        print(f"{ASSET.name}: {len(json.loads(fresh)['icons'])} icons, up to date")
        return 0
    ASSET.write_text(fresh)
    print(f"wrote {ASSET} ({len(fresh)} bytes, {len(json.loads(fresh)['icons'])} icons)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
