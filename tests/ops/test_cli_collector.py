"""The `kartshoppe` command pauses the garbage collector while it imports and builds its app
(`cli.Collector`): the collector runs again afterwards, whatever the command did."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from kartshoppe.cli import Collector, main


@pytest.fixture(autouse=True)
def collecting_afterwards() -> Iterator[None]:
    yield
    gc.enable()


def test_the_collector_is_paused_within_and_collecting_again_after() -> None:
    collector = Collector()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_resume_within_the_pause_collects_again_at_once_and_the_end_changes_nothing() -> None:
    collector = Collector()
    with collector.paused():
        collector.resume()
        assert gc.isenabled()
        gc.disable()
    # the pause was over: its end does not turn on what something else turned off since
    assert not gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with Collector().paused():
        pass
    assert not gc.isenabled()


def test_a_command_that_fails_leaves_the_collector_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "none"])
    assert gc.isenabled()
    assert main(["serve", "--bus", "kafka", "--workers", "2", "--data-dir", str(tmp_path)]) == 2
    assert gc.isenabled()
    capsys.readouterr()
