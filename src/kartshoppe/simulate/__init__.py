"""Traffic simulation and offline recommendation evaluation, both driven by one shopper model.

`simulate_main` is `kartshoppe simulate`; `evaluate_main` is `kartshoppe evaluate-recs`.
"""

from kartshoppe.simulate.driver import simulate_main
from kartshoppe.simulate.evaluate import evaluate_main

__all__ = ["evaluate_main", "simulate_main"]
