"""`kartshoppe serve --workers N`: what the flag accepts (the workers themselves are tested in
tests/integration/test_workers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kartshoppe.cli import main


def test_workers_on_kafka_are_refused_with_the_way_to_scale_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["serve", "--bus", "kafka", "--workers", "2", "--data-dir", str(tmp_path)]
    assert main(args) == 2
    assert "start more instances" in capsys.readouterr().err


@pytest.mark.parametrize("count", ["0", "-1", "two"])
def test_a_worker_count_that_is_not_a_positive_number_is_a_usage_error(
    count: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", count])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err
