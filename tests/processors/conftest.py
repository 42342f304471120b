"""Fixtures of the processor tests: a driver factory over a temporary state file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kartshoppe.processors.model import Processor
from tests.processors.processor_harness import Driver, MakeDriver


@pytest.fixture
def make_driver(tmp_path: Path) -> Iterator[MakeDriver]:
    drivers: list[Driver] = []

    def make(processor: Processor[Any], lateness_ms: int = 0) -> Driver:
        driver = Driver(processor, tmp_path / f"state-{len(drivers)}.db", lateness_ms)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.close()
