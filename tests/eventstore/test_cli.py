"""The command-line faces of the store: `kartshoppe audit`, `sql` and `timetravel`."""

from __future__ import annotations

import json

import pytest

from kartshoppe.commands.audit import audit_main
from kartshoppe.commands.sql import sql_main
from kartshoppe.commands.timetravel import timetravel_main
from kartshoppe.eventstore.table import EventStore


def test_audit_prints_a_users_history_as_json(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = audit_main(
        [
            "--warehouse",
            filled_store.config.warehouse,
            "--user",
            "u2",
            "--types",
            "ORDER_PLACED",
            "--json",
        ]
    )

    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["total"] == 1
    assert out["events"][0]["orderId"] == "o1"


def test_audit_prints_a_table_and_rejects_a_bad_page(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert audit_main(["--warehouse", filled_store.config.warehouse, "--order", "o0"]) == 0
    assert "ORDER_PLACED" in capsys.readouterr().out
    assert (
        audit_main(["--warehouse", filled_store.config.warehouse, "--order", "o0", "--page", "0"])
        == 2
    )
    assert "page must be 1 or more" in capsys.readouterr().err


def test_sql_runs_duckdb_over_the_table(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "SELECT event_type, count(*) AS n FROM ecommerce_events GROUP BY 1 ORDER BY 2 DESC, 1"

    code = sql_main(["--warehouse", filled_store.config.warehouse, "--csv", query])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == '"event_type","n"'
    assert lines[1] == '"PRODUCT_VIEW",18'


def test_sql_runs_a_named_report_as_of_a_snapshot_and_reports_bad_sql(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = filled_store.config.warehouse
    assert sql_main(["--warehouse", warehouse, "--snapshot", "2", "--csv", "sales-per-day"]) == 0
    assert capsys.readouterr().out.strip() == '"day","orders","revenue","average_order"'
    assert sql_main(["--warehouse", warehouse, "SELEKT 1"]) == 2
    assert "sql:" in capsys.readouterr().err
    assert sql_main(["--warehouse", warehouse, "--snapshot", "99", "SELECT 1"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_timetravel_lists_snapshots_and_shows_an_order_as_of_each(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = ["--warehouse", filled_store.config.warehouse]
    assert timetravel_main([*warehouse, "snapshots"]) == 0
    snapshots = [s["snapshotId"] for s in json.loads(capsys.readouterr().out)["snapshots"]]
    assert len(snapshots) > 1

    assert timetravel_main([*warehouse, "--snapshot", str(snapshots[-1]), "order", "o1"]) == 0
    assert json.loads(capsys.readouterr().out)["order"]["orderId"] == "o1"
    assert timetravel_main([*warehouse, "--snapshot", str(snapshots[0]), "order", "o1"]) == 2
    assert "no order 'o1'" in capsys.readouterr().err


def test_timetravel_refuses_an_unknown_snapshot_and_a_missing_id(
    filled_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = ["--warehouse", filled_store.config.warehouse]
    assert timetravel_main([*warehouse, "--snapshot", "9999", "analytics"]) == 2
    assert "9999" in capsys.readouterr().err
    assert timetravel_main([*warehouse, "cart"]) == 2
    assert "give its id" in capsys.readouterr().err
