"""The server answers like a production web server: negotiated compression, ETag and 304 on
catalog reads, hashed assets cached for a year and sent precompressed, HEAD on every GET route,
security headers on every answer. One real `kartshoppe serve` process, a web build of the
test's own."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from pathlib import Path

import brotli
import httpx
import orjson
import pytest
import zstandard

from tests.ops.ops_support import json_lines
from tests.support.accounts import OPERATOR
from tests.support.server import ServerProcess, running_server

API = "/api/ecommerce"
SCRIPT = b"console.log('kartshoppe');\n" * 100
ASSET = "assets/index-Ab12Cd34.js"


def _raw(client: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decoded)."""
    with client.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    web = tmp_path_factory.mktemp("web")
    (web / "assets").mkdir()
    (web / "index.html").write_text(
        '<!doctype html><div id="root"></div><script type="module" src="/assets/x.js"></script>'
    )
    (web / ASSET).write_bytes(SCRIPT)
    (web / f"{ASSET}.br").write_bytes(brotli.compress(SCRIPT))
    (web / f"{ASSET}.gz").write_bytes(gzip.compress(SCRIPT))
    return web


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, web_dir: Path) -> Iterator[ServerProcess]:
    # sign-in attempts: a burst of 3, then one every 10 s from an address
    env = {"KARTSHOPPE_WEB_DIR": str(web_dir), "KARTSHOPPE_RATE_SIGNIN": "0.1/3"}
    tmp = tmp_path_factory.mktemp("serving")
    with running_server(tmp, "--processors", "off", env=env, ready_timeout=120) as running:
        yield running


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    # the event store loads beside the serving app after start; on a busy machine the first
    # store routes wait seconds for it, which is not what these tests are about
    headers = {"Accept-Encoding": "identity"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as c:
        yield c


def _product_ids(client: httpx.Client) -> list[str]:
    page = client.get(f"{API}/products", params={"pageSize": 100}).json()
    return [item["id"] for item in page["items"]]


def test_the_catalog_goes_out_in_the_coding_the_client_prefers(client: httpx.Client) -> None:
    plain, identity = _raw(client, f"{API}/products")
    assert "content-encoding" not in plain.headers
    assert plain.headers["vary"] == "Accept-Encoding"
    decoders = {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": lambda body: zstandard.ZstdDecompressor().decompress(body, len(identity) * 2),
    }
    for offered, expected in (
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br, zstd", "zstd"),
        ("br;q=0, gzip;q=0", None),
    ):
        response, body = _raw(client, f"{API}/products", **{"Accept-Encoding": offered})
        assert response.headers.get("content-encoding") == expected, offered
        assert int(response.headers["content-length"]) == len(body)
        if expected is not None:
            assert len(body) < len(identity) / 3
            assert decoders[expected](body) == identity


def test_a_small_body_is_sent_as_it_is(client: httpx.Client) -> None:
    product = _product_ids(client)[0]
    response, body = _raw(client, f"{API}/product/{product}", **{"Accept-Encoding": "gzip, br"})
    assert len(body) < 1024
    assert "content-encoding" not in response.headers
    assert orjson.loads(body)["id"] == product


def change_price(client: httpx.Client, product_id: str, price: float) -> None:
    """The operator's price change, as the admin console makes it."""
    token = client.post(f"{API}/auth/login", json=OPERATOR).json()["token"]
    changed = client.post(
        f"{API}/admin/products/{product_id}/price",
        json={"price": price},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert changed.status_code == 200, changed.text


def test_a_catalog_read_is_revalidated_with_its_etag(client: httpx.Client) -> None:
    product = _product_ids(client)[0]
    first = client.get(f"{API}/product/{product}")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = client.get(f"{API}/product/{product}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    weak = client.get(f"{API}/product/{product}", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status_code == 304
    price = first.json()["price"] + 1
    change_price(client, product, price)
    after = client.get(f"{API}/product/{product}", headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["price"] == price
    assert after.headers["etag"] != etag


def test_a_price_change_is_on_the_next_catalog_page_under_a_new_etag(client: httpx.Client) -> None:
    first = client.get(f"{API}/products")
    etag = first.headers["etag"]
    item = first.json()["items"][0]
    assert client.get(f"{API}/products", headers={"If-None-Match": etag}).status_code == 304
    price = item["price"] + 2
    change_price(client, item["id"], price)

    after = client.get(f"{API}/products", headers={"If-None-Match": etag})

    assert after.status_code == 200
    assert after.headers["etag"] != etag
    listed = {i["id"]: i["price"] for i in after.json()["items"]}
    assert listed[item["id"]] == price
    fresh = {"If-None-Match": after.headers["etag"]}
    assert client.get(f"{API}/products", headers=fresh).status_code == 304


def test_a_hot_read_carries_its_request_id_and_is_counted_and_logged(
    client: httpx.Client, server: ServerProcess
) -> None:
    product = _product_ids(client)[0]
    route = f'route="{API}/product/{{product_id}}"'

    def counted() -> float:
        lines = client.get("/metrics").text.splitlines()
        return sum(
            float(line.rpartition(" ")[2])
            for line in lines
            if line.startswith("kartshoppe_http_request_duration_seconds_count")
            and route in line
            and 'status="200"' in line
        )

    before = counted()
    given = client.get(f"{API}/product/{product}", headers={"X-Request-ID": "hot-read-1"})
    made = client.get(f"{API}/product/{product}")

    assert given.headers["x-request-id"] == "hot-read-1"
    assert len(made.headers["x-request-id"]) == 32
    assert made.headers["x-request-id"] != given.headers["x-request-id"]
    _assert_secured(made)
    assert counted() - before == 2
    ids = {given.headers["x-request-id"], made.headers["x-request-id"]}
    deadline = time.monotonic() + 10
    while not ids <= {line.get("requestId") for line in json_lines(server.log_text())}:
        assert time.monotonic() < deadline, f"no access-log line for {ids}"
        time.sleep(0.05)
    [line] = [x for x in json_lines(server.log_text()) if x.get("requestId") == "hot-read-1"]
    assert line["route"] == f"{API}/product/{{product_id}}" and line["status"] == 200
    assert line["path"] == f"{API}/product/{product}" and line["durationMs"] >= 0


def test_a_hashed_asset_is_cached_for_a_year_and_sent_precompressed(client: httpx.Client) -> None:
    response, body = _raw(client, f"/{ASSET}", **{"Accept-Encoding": "gzip, br"})
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "br"
    assert response.headers["content-type"].startswith("text/javascript")
    assert brotli.decompress(body) == SCRIPT
    plain, body = _raw(client, f"/{ASSET}")
    assert "content-encoding" not in plain.headers
    assert body == SCRIPT
    index = client.get("/")
    assert index.headers["cache-control"] == "no-cache"


def test_every_get_route_answers_head(client: httpx.Client) -> None:
    product = _product_ids(client)[0]
    spec = client.get("/openapi.json").json()
    paths = [p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p]
    paths += [f"{API}/product/{product}", "/", f"/{ASSET}", "/docs", "/metrics", "/openapi.json"]
    for path in paths:
        got = client.get(path)
        head = client.head(path)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
        if "content-length" in got.headers and "etag" in got.headers:
            assert head.headers["content-length"] == got.headers["content-length"], path


SECURITY = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def _assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert response.headers[name] == value, (response.url, name)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "script-src 'self'" in policy


def test_every_answer_carries_the_security_headers(client: httpx.Client) -> None:
    answers = [
        client.get("/"),
        client.get(f"/{ASSET}"),
        client.get("/health"),
        client.get(f"{API}/product/no-such-product"),
        client.get("/docs"),
    ]
    wrong = {"email": OPERATOR["email"], "password": "not-the-password"}
    refused = [client.post(f"{API}/auth/login", json=wrong) for _ in range(5)]
    assert refused[-1].status_code == 429
    for response in [*answers, refused[-1]]:
        _assert_secured(response)
        assert "strict-transport-security" not in response.headers


def test_the_api_explorer_allows_only_its_own_inline_script_by_hash(client: httpx.Client) -> None:
    policy = client.get("/docs").headers["content-security-policy"]
    assert "'sha256-" in policy
    assert "unsafe-inline" not in policy


def test_hsts_is_sent_over_tls(client: httpx.Client) -> None:
    # the server trusts the TLS-terminating proxy on loopback to say the scheme
    response = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")
