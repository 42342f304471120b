"""The original KartShoppe client's calls, and the API keeping the word of docs/API.md.

The original React client asks `/products?search=...&limit=...` and posts its tracking events in
an envelope `{"events": [...], "sessionId", "userId"}`; a refused WebSocket is closed with 1008
and a reason after the handshake; an unknown route under `/api` is a 404 JSON error whatever the
method; an unknown query parameter is a 400 naming it rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from kartshoppe.events import Topic
from tests.api.api_support import Shopper, TopicReader, assert_error, fresh, receive
from tests.support.server import ServerProcess


def test_search_and_limit_are_the_original_clients_names_for_q_and_page_size(
    api: httpx.Client,
) -> None:
    by_alias = api.get("/products", params={"search": "headphones", "limit": 3})
    by_name = api.get("/products", params={"q": "headphones", "pageSize": 3})

    assert by_alias.status_code == 200, by_alias.text
    body = by_alias.json()
    assert body == by_name.json()
    assert body["pageSize"] == 3
    assert 0 < len(body["items"]) <= 3
    assert body["total"] < api.get("/products").json()["total"]


def test_a_name_and_its_alias_that_agree_are_accepted(api: httpx.Client) -> None:
    both = api.get("/products", params={"q": "lamp", "search": "lamp", "pageSize": 5})
    assert both.status_code == 200, both.text
    assert both.json() == api.get("/products", params={"q": "lamp", "pageSize": 5}).json()


def test_a_name_and_its_alias_that_disagree_are_a_422_naming_the_alias(api: httpx.Client) -> None:
    response = api.get("/products", params={"pageSize": 5, "limit": 3})
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == ["limit"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/products", {"serach": "lamp"}),
        ("/products", {"q": "lamp", "colour": "red", "size": "xl"}),
        ("/products/featured", {"limt": "3"}),
        ("/products/trending", {"page": "2"}),
        ("/categories", {"sort": "name"}),
    ],
    ids=["typo", "two-unknown", "featured", "trending", "categories"],
)
def test_an_unknown_query_parameter_is_a_400_naming_it(
    api: httpx.Client, path: str, params: dict[str, str]
) -> None:
    known = {"q", "limit"}
    body = assert_error(api.get(path, params=params), 400, "unknown_parameter")
    assert {d["field"] for d in body["details"]} == set(params) - known
    assert all(name in body["message"] for name in set(params) - known)


def test_an_unknown_query_parameter_on_a_product_is_a_400(api: httpx.Client) -> None:
    product_id = api.get("/products", params={"pageSize": 1}).json()["items"][0]["id"]
    body = assert_error(api.get(f"/product/{product_id}?debug=1"), 400, "unknown_parameter")
    assert [d["field"] for d in body["details"]] == ["debug"]


async def test_the_original_clients_event_envelope_fills_each_events_ids(
    api: httpx.Client, read_topic: TopicReader
) -> None:
    session, user = fresh("s"), fresh("u")
    own_session = fresh("s")
    envelope: dict[str, Any] = {
        "sessionId": session,
        "userId": user,
        "events": [
            {"eventType": "PAGE_VIEW", "eventId": fresh("evt"), "page": "/"},
            {"eventType": "PAGE_VIEW", "eventId": fresh("evt"), "page": "/a", "userId": None},
            {"eventType": "PAGE_VIEW", "page": "/b", "sessionId": own_session},
        ],
    }

    response = api.post("/events", json=envelope)

    assert response.status_code == 200, response.text
    assert (response.json()["accepted"], response.json()["rejected"]) == (3, 0)
    stored = {
        e["page"]: (e["sessionId"], e.get("userId"))
        for e in await read_topic(Topic.EVENTS)
        if e.get("eventType") == "PAGE_VIEW" and e.get("sessionId") in (session, own_session)
    }
    assert stored == {"/": (session, user), "/a": (session, user), "/b": (own_session, user)}


def test_an_envelope_without_events_is_a_422_naming_the_field(api: httpx.Client) -> None:
    body = assert_error(api.post("/events", json={"sessionId": "s1"}), 422, "validation_error")
    assert "events" in {d["field"] for d in body["details"]}


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_a_refused_socket_is_closed_with_1008_and_a_reason(
    server: ServerProcess, shopper: Shopper, token: str | None
) -> None:
    url = server.ws_url(fresh("s"), shopper.user_id)
    if token is not None:
        url += f"?token={token}"
    async with connect(url) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason


async def test_a_socket_with_an_invalid_session_id_is_closed_with_1008(
    server: ServerProcess,
) -> None:
    async with connect(server.ws_url("semi;colon")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_an_unknown_route_under_the_api_is_a_404_json_error_for_every_method(
    api: httpx.Client, method: str
) -> None:
    body = assert_error(api.request(method, "/no-such-route", json={}), 404, "not_found")
    assert "/no-such-route" in body["message"]


def test_a_known_route_with_the_wrong_method_is_still_a_405(api: httpx.Client) -> None:
    assert_error(api.post("/products", json={}), 405, "method_not_allowed")
