"""Schemathesis fuzzes every operation of the served OpenAPI schema on a live server: no 5xx,
no undocumented status, every response matching its schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kartshoppe.events import Role
from kartshoppe.security.tokens import TokenService
from tests.support.server import running_server

SECRET = "schemathesis-suite-secret-0123456789abcdef"
EXAMPLES_PER_OPERATION = 30
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


def test_the_api_holds_its_schema_under_fuzzing(tmp_path: Path) -> None:
    # an operator's token reaches the admin and store routes; for the others it is a
    # signed-in caller, whose refusals (401/403/404) are documented answers too
    token = TokenService(SECRET.encode()).issue("user_demo_operator", Role.OPERATOR).token
    env = {"KARTSHOPPE_JWT_SECRET": SECRET, "KARTSHOPPE_RATE_SIGNIN": "1000/1000"}
    with running_server(tmp_path, env=env) as server:
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                server.url("/openapi.json"),
                "--checks",
                CHECKS,
                "--max-examples",
                str(EXAMPLES_PER_OPERATION),
                "--phases",
                "coverage,fuzzing",
                "--workers",
                "1",
                "--seed",
                "8",
                "--request-timeout",
                "10",
                "--header",
                f"Authorization: Bearer {token}",
                "--report-dir",
                str(tmp_path / "schemathesis"),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
    assert "Tested: " in run.stdout
