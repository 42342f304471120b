"""Request ids, structured JSON logs with event ids, and one trace from request to push."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.ops_support import API, fresh, json_lines
from tests.support.server import ServerProcess, running_server


def lines_until(server: ServerProcess, found: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        lines = json_lines(server.log_text())
        if found(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"KARTSHOPPE_OTEL_EXPORTER": "console"}
    with running_server(tmp_path_factory.mktemp("traced"), env=env) as server:
        yield server


def test_a_request_id_is_echoed_and_logged_with_the_event_ids(traced: ServerProcess) -> None:
    with httpx.Client(base_url=traced.base_url, trust_env=False, timeout=10) as client:
        product = client.get(f"{API}/products").json()["items"][0]
        request_id = fresh("req")
        answer = client.post(
            f"{API}/cart/{fresh('s')}/add",
            json={"productId": product["id"]},
            headers={"X-Request-ID": request_id},
        )
        generated = client.get("/health").headers["x-request-id"]
    lines = lines_until(traced, lambda ls: any(x.get("requestId") == request_id for x in ls))
    assert answer.headers["x-request-id"] == request_id
    assert len(generated) == 32
    [access] = [x for x in lines if x.get("requestId") == request_id]
    assert access["event"] == "request" and access["status"] == 200
    assert access["route"] == f"{API}/cart/{{sessionId}}/add"
    assert access["level"] == "info" and access["ts"]
    assert len(access["eventIds"]) == 1 and access["eventIds"][0].startswith("evt_")


def test_one_trace_runs_from_the_request_through_the_log_append_to_the_push(
    traced: ServerProcess,
) -> None:
    with httpx.Client(base_url=traced.base_url, trust_env=False, timeout=10) as client:
        product = client.get(f"{API}/products").json()["items"][0]
        session = fresh("s")
        client.post(f"{API}/cart/{session}/add", json={"productId": product["id"]})

        def spans(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [x for x in lines if "context" in x and "name" in x]

        def this_request(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
            path = f"{API}/cart/{session}/add"
            return [s for s in found if s["attributes"].get("url.path") == path]

        def complete(lines: list[dict[str, Any]]) -> bool:
            # the module's earlier requests left spans of these names already: wait for
            # this request's own trace, whose request span ends after its children
            found = spans(lines)
            traces = {s["context"]["trace_id"] for s in this_request(found)}
            names = {s["name"] for s in found if s["context"]["trace_id"] in traces}
            return {"log.append", "view.apply+ws.push"} <= names

        lines = lines_until(traced, complete)
    found = spans(lines)
    [request] = this_request(found)
    assert request["name"] == f"POST {API}/cart/{{sessionId}}/add"
    trace_id = request["context"]["trace_id"]
    in_trace = [s for s in found if s["context"]["trace_id"] == trace_id]
    [append] = [s for s in in_trace if s["name"] == "log.append"]
    [push] = [s for s in in_trace if s["name"] == "view.apply+ws.push"]
    assert append["parent_id"] == request["context"]["span_id"]
    assert push["parent_id"] == append["context"]["span_id"]
    assert push["attributes"]["kartshoppe.event_type"] == "ADD_TO_CART"
    assert request["attributes"]["http.response.status_code"] == 200


def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    with running_server(tmp_path) as server:
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=10) as client:
            client.get(f"{API}/products")
        assert not [x for x in json_lines(server.log_text()) if "trace_id" in str(x)]
