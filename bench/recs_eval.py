"""Offline recommendation quality: hit rate@10 and MRR@10, recommender vs popularity.

Run `.venv/bin/python bench/recs_eval.py [--train N] [--test N] [--seed S]` (the same as
`kartshoppe evaluate-recs`); it prints the report and writes it to bench/results/recommendations.md.
The method is described in `kartshoppe.simulate.evaluate`, the planted affinities in
`kartshoppe.simulate.shoppers`.
"""

from __future__ import annotations

import pathlib
import sys

from kartshoppe.simulate.evaluate import evaluate_main

RESULTS = pathlib.Path(__file__).parent / "results" / "recommendations.md"

if __name__ == "__main__":
    sys.exit(
        evaluate_main([*sys.argv[1:], "--output", str(RESULTS.relative_to(pathlib.Path.cwd()))])
    )
