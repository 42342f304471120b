"""`POST /events` over real HTTP: good events are accepted, each bad one is counted, explained and
put on the DLQ topic with its reason."""

from __future__ import annotations

from typing import Any

import httpx

from kartshoppe.events import Topic
from tests.api.api_support import TopicReader, assert_error, fresh


def event_id(raw: Any) -> Any:
    return raw.get("eventId") if isinstance(raw, dict) else None


def page_view(session: str) -> dict[str, Any]:
    return {"eventType": "PAGE_VIEW", "eventId": fresh("evt"), "sessionId": session, "page": "/"}


async def test_a_batch_accepts_good_events_and_sends_each_bad_one_to_the_dlq(
    api: httpx.Client, read_topic: TopicReader
) -> None:
    session = fresh("s")
    product_id = api.get("/products", params={"pageSize": 1}).json()["items"][0]["id"]
    good = [
        page_view(session),
        {"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": product_id},
        {"eventType": "SEARCH", "sessionId": session, "query": "lamp", "resultCount": 3},
    ]
    bad = {
        "unknown_type": {"eventType": "TELEPORT", "sessionId": session},
        "missing_field": {"eventType": "PAGE_VIEW", "sessionId": session},
        "server_only": {
            "eventType": "ORDER_STATUS_CHANGED",
            "sessionId": session,
            "orderId": "o1",
            "status": "PAID",
            "previousStatus": "PLACED",
        },
        "unknown_product": {"eventType": "PRODUCT_VIEW", "sessionId": session, "productId": "zz"},
        "no_shopper": {"eventType": "PAGE_VIEW", "page": "/"},
    }
    for name, event in bad.items():
        event["eventId"] = f"{session}-{name}"
    batch = [good[0], bad["unknown_type"], good[1], *list(bad.values())[1:], good[2]]

    response = api.post("/events", json=batch)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 5)
    reasons = {e["eventId"]: e["reason"] for e in body["errors"]}
    assert reasons == {
        f"{session}-unknown_type": "invalid_event",
        f"{session}-missing_field": "invalid_event",
        f"{session}-server_only": "not_a_tracking_event",
        f"{session}-unknown_product": "unknown_product",
        f"{session}-no_shopper": "invalid_event",
    }
    assert [e["index"] for e in body["errors"]] == [1, 3, 4, 5, 6]
    fields = {e["eventId"]: {d["field"] for d in e["details"]} for e in body["errors"]}
    assert fields[f"{session}-unknown_type"] == {"eventType"}
    assert fields[f"{session}-missing_field"] == {"page"}

    ours = set(reasons)
    dead = [d for d in await read_topic(Topic.DLQ) if event_id(d["event"]) in ours]
    assert {d["event"]["eventId"]: d["reason"] for d in dead} == reasons
    assert all(d["details"] and d["rejectedAt"] > 0 for d in dead)
    accepted = [e for e in await read_topic(Topic.EVENTS) if e.get("sessionId") == session]
    assert sorted(e["eventType"] for e in accepted) == ["PAGE_VIEW", "PRODUCT_VIEW", "SEARCH"]


async def test_a_batch_item_that_is_not_an_object_is_rejected_not_fatal(
    api: httpx.Client, read_topic: TopicReader
) -> None:
    session = fresh("s")
    response = api.post("/events", json=[page_view(session), "just a string", 42])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (1, 2)
    assert [e["index"] for e in body["errors"]] == [1, 2]
    assert {e["reason"] for e in body["errors"]} == {"invalid_event"}
    dead = [d["event"] for d in await read_topic(Topic.DLQ)]
    assert "just a string" in dead
    assert 42 in dead


def test_a_batch_of_more_than_500_events_is_a_413_and_nothing_is_accepted(
    api: httpx.Client,
) -> None:
    session = fresh("s")
    response = api.post("/events", json=[page_view(session) for _ in range(501)])
    assert_error(response, 413, "batch_too_large")


def test_a_batch_of_exactly_500_events_is_accepted(api: httpx.Client) -> None:
    session = fresh("s")
    response = api.post("/events", json=[page_view(session) for _ in range(500)])
    assert response.status_code == 200
    assert response.json()["accepted"] == 500


def test_an_events_body_that_is_not_an_array_is_a_422(api: httpx.Client) -> None:
    assert_error(api.post("/events", json=page_view(fresh("s"))), 422, "validation_error")


def test_a_malformed_events_body_is_a_400(api: httpx.Client) -> None:
    response = api.post("/events", content=b"[{", headers={"content-type": "application/json"})
    assert_error(response, 400, "malformed_json")
