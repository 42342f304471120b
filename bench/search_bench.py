"""Benchmark of catalog search: what a typo-tolerant search costs on the catalog's read path.

Run `.venv/bin/python bench/search_bench.py`; it prints a table and writes it, with the command,
the date and the machine's load, to bench/results/search.md.

The catalog view answers `GET /products` from pre-encoded bytes keyed by the query; a miss
builds the page. The reference, measured in the same run, is the miss every listing already pays
without search: the whole catalog as views, filtered, faceted, sorted and paged. Against it:

- a search miss with warm words (the index knows the query words: the usual case, since the
  index and its word matches live until the catalog changes, while cached pages expire every
  second),
- a search miss with new words (each query word matched against the whole vocabulary: the
  first time anyone types it),
- the index build (once per catalog change),
- a suggestion, and a cached answer (a dictionary lookup: what most requests get).

CPU time of this one thread (`time.thread_time`), so less sensitive to the machine's load.
"""

from __future__ import annotations

import datetime
import os
import pathlib
import platform
import shlex
import sys
import time
from collections.abc import Callable

from report import record

from kartshoppe.demo.seed import seed_products
from kartshoppe.domain.catalog import decide_launch
from kartshoppe.domain.meta import Meta
from kartshoppe.domain.state import ShopState
from kartshoppe.views.catalog import CatalogView, ProductQuery
from kartshoppe.views.search import SearchIndex

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "search.md"
QUERIES = ("hedphones", "laptop", "espreso machine", "wireless earbuds", "tent", "blutooth speaker")


def shop() -> ShopState:
    state = ShopState()
    for product in seed_products():
        for event in decide_launch(None, product, Meta(timestamp=0)):
            state.apply(event)
    return state


def per_call(run: Callable[[int], object], rounds: int) -> float:
    """CPU microseconds per call of `run(i)`, whose answer is dropped."""
    started = time.thread_time()
    for i in range(rounds):
        run(i)
    return (time.thread_time() - started) / rounds * 1e6


def main() -> None:
    state = shop()
    view = CatalogView(state)
    rounds = 60

    listing = per_call(lambda i: view.search(ProductQuery(page=1 + i % 3, page_size=24)), rounds)

    view.index.search(" ".join(QUERIES))  # every query word matched once: warm

    def warm_search(i: int) -> None:
        view.search(ProductQuery(q=QUERIES[i % len(QUERIES)]))

    warm = per_call(warm_search, rounds)

    def cold_search(i: int) -> None:
        view._index = None  # a new catalog version: words not yet matched
        view.search(ProductQuery(q=QUERIES[i % len(QUERIES)]))

    cold = per_call(cold_search, 24)
    products = list(state.products.values())
    build = per_call(lambda _: SearchIndex(products), 24)
    suggest = per_call(lambda i: view.suggest(QUERIES[i % len(QUERIES)][:5]), rounds)
    view.search_bytes(ProductQuery(q="laptop"))
    cached = per_call(lambda _: view.search_bytes(ProductQuery(q="laptop")), 5000)

    rows = [
        ("listing miss, no search (reference)", listing),
        ("search miss, words already matched", warm),
        ("search miss, new words (index built, every word matched)", cold),
        ("index build alone", build),
        ("suggestion (words matched)", suggest),
        ("cached answer (bytes)", cached),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        "# Search benchmark",
        "",
        f"Command: `{shlex.join(['.venv/bin/python', *sys.argv])}`",
        "",
        f"Date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; Python "
        f"{platform.python_version()}; {os.cpu_count()} cores, load average {load} "
        "(shared machine).",
        "",
        f"Catalog: the demo seed, {len(products)} products, "
        f"{len(view.index.vocabulary)} distinct words. Queries: {', '.join(QUERIES)}.",
        "",
        "| what | CPU µs per call | vs. reference |",
        "|---|---:|---:|",
        *(f"| {name} | {us:,.0f} | {us / listing:.2f}x |" for name, us in rows),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    record(RESULTS, text)


if __name__ == "__main__":
    main()
