"""`kartshoppe simulate` refuses bad arguments and an unreachable shop with a clear status."""

from __future__ import annotations

import pytest

from kartshoppe.simulate.driver import parse_config, simulate_main, ws_base
from tests.support.ports import free_port


@pytest.mark.parametrize(
    "argv",
    [
        ["--users", "0"],
        ["--users", "100000"],
        ["--rate", "0"],
        ["--duration", "-1"],
        ["--base-url", "ftp://127.0.0.1:21"],
        ["--base-url", "127.0.0.1:8080"],
    ],
)
def test_out_of_range_arguments_exit_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert simulate_main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_defaults_drive_the_local_shop_for_a_bounded_time() -> None:
    config, quiet = parse_config([])
    assert config.base_url == "http://127.0.0.1:8080"
    assert (config.users, config.rate, config.duration_s, quiet) == (20, 50.0, 60.0, False)


def test_websocket_addresses_stay_on_the_given_host() -> None:
    assert ws_base("http://127.0.0.1:9000") == "ws://127.0.0.1:9000"
    assert ws_base("https://shop.example/base/") == "wss://shop.example/base"


def test_an_unreachable_shop_exits_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert simulate_main(["--base-url", url, "--duration", "1", "--quiet"]) == 2
    assert "cannot read the catalog" in capsys.readouterr().err


def test_sign_ins_are_paced_under_the_servers_default_limit_unless_told_otherwise() -> None:
    assert parse_config([])[0].signin_rate < 5
    assert parse_config(["--signin-rate", "1.5"])[0].signin_rate == 1.5


def test_a_signin_rate_of_zero_exits_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert simulate_main(["--signin-rate", "0"]) == 2
    assert "--signin-rate" in capsys.readouterr().err
