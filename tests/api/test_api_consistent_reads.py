"""A write's answer names the log position it reached; a read passing it back waits for it.

Across instances this is what lets a client read its own write wherever its next request
lands (tests/integration/test_kafka_scale_out.py); here: the contract on one server.
"""

from __future__ import annotations

import httpx

from tests.api.api_support import assert_error, fresh, launch


def test_a_write_answers_with_the_log_position_of_its_events(
    api: httpx.Client, admin: httpx.Client
) -> None:
    product = launch(admin)
    session = fresh("s")
    added = api.post(f"/cart/{session}/add", json={"productId": product["id"], "quantity": 1})
    assert added.status_code == 200, added.text
    position = added.headers["X-Log-Position"]
    assert position.startswith("ecommerce_events:")

    by_header = api.get(f"/cart/{session}", headers={"X-Log-Position": position})
    by_query = api.get(f"/cart/{session}", params={"after": position})
    for read in (by_header, by_query):
        assert read.status_code == 200
        assert [line["productId"] for line in read.json()["lines"]] == [product["id"]]


def test_a_read_does_not_answer_with_a_position(api: httpx.Client) -> None:
    assert "X-Log-Position" not in api.get(f"/cart/{fresh('s')}").headers


def test_a_malformed_position_is_refused_naming_it(api: httpx.Client) -> None:
    answer = api.get(f"/cart/{fresh('s')}", params={"after": "ecommerce_events:x:1"})
    body = assert_error(answer, 400, "invalid_position")
    assert body["details"][0]["field"] == "after"
    answer = api.get("/products", headers={"X-Log-Position": "nonsense"})
    assert assert_error(answer, 400, "invalid_position")["details"][0]["field"] == "X-Log-Position"


def test_a_catalog_read_takes_the_position_too(api: httpx.Client, admin: httpx.Client) -> None:
    product = launch(admin, price=12.5)
    changed = admin.post(f"/admin/products/{product['id']}/price", json={"price": 11.0})
    position = changed.headers["X-Log-Position"]
    read = api.get(f"/product/{product['id']}", params={"after": position})
    assert read.status_code == 200, read.text
    assert read.json()["price"] == 11.0
    listed = api.get("/products", params={"after": position, "category": "Test Lab"})
    assert listed.status_code == 200, listed.text
