"""How light the product pictures are to serve: bytes of every demo product's SVG as sent (raw and
in each coding the server negotiates) and the time to compose one, against the product's own
JSON record as the catalog API sends it, measured in the same run.

`.venv/bin/python bench/pictures_bench.py` prints the table and writes bench/results/pictures.md
with the command, the date and the machine's load.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import shlex
import statistics
import sys
import time

import orjson
from report import record

from kartshoppe.api.serving import ENCODERS
from kartshoppe.demo import seed_products
from kartshoppe.events import now_ms
from kartshoppe.pictures.compose import illustration_svg, product_svg
from kartshoppe.pictures.match import illustration_for
from kartshoppe.views.models import ProductOut

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "pictures.md"
GOAL_MEDIAN_BR = 2048
"""A picture should cost no more than a small JSON answer over the wire."""


def main() -> None:
    load_before = os.getloadavg()
    products = seed_products()
    svgs = [product_svg(p).encode() for p in products]
    records = [orjson.dumps(ProductOut.of(p, None, now_ms()).to_json()) for p in products]
    rows: list[tuple[str, list[int], list[int]]] = [("identity", [len(s) for s in svgs], [])]
    for coding, encode in ENCODERS.items():
        rows.append((coding, [len(encode(s)) for s in svgs], [len(encode(r)) for r in records]))
    rows[0][2].extend(len(r) for r in records)

    # composing, with the per-illustration cache emptied each round: the cost of a first request
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        illustration_svg.cache_clear()
        for p in products:
            illustration_svg(illustration_for(p.category, p.name, p.tags), p.category)
    compose_us = (time.perf_counter() - started) / (rounds * len(products)) * 1e6
    load_after = os.getloadavg()

    lines = [
        "# Product pictures: bytes to serve and time to compose",
        "",
        f"Command: `{shlex.join([pathlib.Path(sys.executable).name, *sys.argv])}`  ",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores shared with other work; load "
        f"average before: {', '.join(f'{x:.1f}' for x in load_before)}, after: "
        f"{', '.join(f'{x:.1f}' for x in load_after)}. Python {platform.python_version()}.",
        "",
        f"All {len(products)} demo products' pictures (`GET /images/products/{{id}}.svg`) against "
        "each product's own JSON record (`GET /api/ecommerce/product/{id}`), same run.",
        "",
        "| coding | picture median | picture max | catalog total | record median "
        "| picture / record |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for coding, pictures, recs in rows:
        median, record_median = statistics.median(pictures), statistics.median(recs)
        lines.append(
            f"| {coding} | {median:.0f} B | {max(pictures)} B | {sum(pictures) / 1024:.1f} KB "
            f"| {record_median:.0f} B | {median / record_median:.2f}x |"
        )
    br_median = statistics.median(dict((c, p) for c, p, _ in rows)["br"])
    lines += [
        "",
        f"Goal: median picture over brotli at most {GOAL_MEDIAN_BR} B: {br_median:.0f} B "
        f"({br_median / GOAL_MEDIAN_BR:.2f}x of the goal).  ",
        f"Composing one picture (cache empty): {compose_us:.0f} µs; later requests for the same "
        "illustration reuse its string.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    record(RESULTS, text)


if __name__ == "__main__":
    main()
