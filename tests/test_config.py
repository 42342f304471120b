"""Settings' defaults that depend on the machine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kartshoppe import config
from kartshoppe.config import Settings, default_processor_processes, usable_cores


@pytest.mark.parametrize(("cores", "processes"), [(1, 1), (2, 1), (3, 1), (4, 2), (64, 2)])
def test_the_processors_take_a_second_process_only_where_the_server_keeps_cores_besides(
    cores: int, processes: int
) -> None:
    assert default_processor_processes(cores) == processes


@pytest.mark.parametrize(("cores", "processes"), [(2, 1), (8, 2)])
def test_the_default_follows_the_cores_this_process_may_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int, processes: int
) -> None:
    monkeypatch.setattr(config, "usable_cores", lambda: cores)
    assert Settings(data_dir=tmp_path).processor_processes == processes


def test_the_usable_cores_are_this_process_s_share() -> None:
    assert 1 <= usable_cores() <= (os.cpu_count() or 1)


def test_the_environment_still_sets_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARTSHOPPE_PROCESSOR_PROCESSES", "3")
    assert Settings(data_dir=tmp_path).processor_processes == 3
