"""Offline recommendation quality: hit rate@10 and MRR@10, recommender vs popularity.

Run `.venv/bin/python bench/recs_eval.py [--train N] [--test N] [--seed S]` (the same as
`kartshoppe evaluate-recs`); it prints the report and adds it above the earlier runs in
bench/results/recommendations.md. The method is described in `kartshoppe.simulate.evaluate`, the
planted affinities in `kartshoppe.simulate.shoppers`.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from report import record

from kartshoppe.simulate.evaluate import evaluate_main

RESULTS = pathlib.Path(__file__).parent / "results" / "recommendations.md"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="recs-eval-") as tmp:
        output = pathlib.Path(tmp) / "report.md"
        code = evaluate_main([*sys.argv[1:], "--output", str(output)])
        if code == 0 and output.exists():
            record(RESULTS, output.read_text())
    return code


if __name__ == "__main__":
    sys.exit(main())
