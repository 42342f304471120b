"""Product pictures over HTTP: a launched product is drawn as what it is, and the operator can
upload an image instead, which is checked, re-encoded, recorded as a catalog event and served;
anything else is a 4xx naming `image`, and nothing of a refused upload is kept."""

from __future__ import annotations

import io
from typing import Any

import httpx
from PIL import Image

from kartshoppe.events import Topic
from kartshoppe.pictures.compose import _asset
from kartshoppe.pictures.uploads import MAX_UPLOAD_BYTES
from tests.api.api_support import Shopper, TopicReader, assert_error, fresh, launch
from tests.support.server import ServerProcess


def png(size: tuple[int, int] = (320, 240), colour: str = "orange") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def jpeg(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "JPEG", quality=90)
    return out.getvalue()


def upload(admin: httpx.Client, product_id: str, data: bytes, kind: str) -> httpx.Response:
    return admin.post(
        f"/admin/products/{product_id}/image", content=data, headers={"Content-Type": kind}
    )


def image_at(server: ServerProcess, url: str) -> httpx.Response:
    return httpx.get(server.url(url), timeout=10.0)


def test_a_launched_product_is_drawn_as_what_it_is(
    admin: httpx.Client, server: ServerProcess
) -> None:
    body = {"name": "Cuddly Teddy Bear", "category": "Toys & Games", "price": 19.99, "stock": 5}
    product = admin.post("/admin/products", json=body).json()
    picture = image_at(server, product["imageUrl"])
    assert picture.status_code == 200
    assert picture.headers["content-type"].startswith("image/svg+xml")
    assert _asset()["icons"]["fluent-emoji-flat:teddy-bear"]["body"] in picture.text
    assert "<text" not in picture.text


def test_an_uploaded_png_replaces_the_picture_and_is_served_as_webp(
    admin: httpx.Client, server: ServerProcess
) -> None:
    product = launch(admin)
    answer = upload(admin, product["id"], png(), "image/png")
    assert answer.status_code == 200, answer.text
    url = answer.json()["imageUrl"]
    assert url.startswith("/images/uploads/") and url.endswith(".webp")
    assert admin.get(f"/product/{product['id']}").json()["imageUrl"] == url
    served = image_at(server, url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/webp"
    assert "immutable" in served.headers["cache-control"]
    image = Image.open(io.BytesIO(served.content))
    assert (image.format, image.size) == ("WEBP", (320, 240))


def test_a_large_jpeg_is_scaled_to_fit(admin: httpx.Client, server: ServerProcess) -> None:
    product = launch(admin)
    answer = upload(admin, product["id"], jpeg((3000, 1500)), "image/jpeg")
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(image_at(server, answer.json()["imageUrl"]).content))
    assert image.size == (1200, 600)


async def test_the_change_is_a_catalog_event_carrying_the_product(
    admin: httpx.Client, read_topic: TopicReader
) -> None:
    product = launch(admin)
    url = upload(admin, product["id"], png(colour="plum"), "image/png").json()["imageUrl"]
    changes = [
        e
        for e in await read_topic(Topic.PRODUCT_UPDATES)
        if e["eventType"] == "PRODUCT_IMAGE_CHANGED" and e["productId"] == product["id"]
    ]
    assert [(c["imageUrl"], c["product"]["imageUrl"]) for c in changes] == [(url, url)]


def test_removing_the_upload_brings_back_the_illustration(admin: httpx.Client) -> None:
    product = launch(admin)
    upload(admin, product["id"], png(), "image/png")
    back = admin.delete(f"/admin/products/{product['id']}/image")
    assert back.status_code == 200
    assert back.json()["imageUrl"] == f"/images/products/{product['id']}.svg"


def _unchanged(admin: httpx.Client, product: dict[str, Any]) -> None:
    assert admin.get(f"/product/{product['id']}").json()["imageUrl"] == product["imageUrl"]


def test_an_svg_with_script_is_refused_and_nothing_changes(admin: httpx.Client) -> None:
    product = launch(admin)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>x()</script></svg>'
    for claimed in ("image/svg+xml", "image/png"):
        refused = assert_error(upload(admin, product["id"], svg, claimed), 415, "svg_refused")
        assert refused["details"][0]["field"] == "image"
    _unchanged(admin, product)


def test_a_file_of_the_wrong_type_is_refused(admin: httpx.Client) -> None:
    product = launch(admin)
    pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"
    refused = assert_error(
        upload(admin, product["id"], pdf, "application/pdf"), 415, "unsupported_image"
    )
    assert refused["details"] == [{"field": "image", "message": refused["message"]}]
    _unchanged(admin, product)


def test_a_file_over_the_limit_is_refused_naming_the_field(admin: httpx.Client) -> None:
    product = launch(admin)
    too_big = png() + b"\0" * MAX_UPLOAD_BYTES
    refused = assert_error(
        upload(admin, product["id"], too_big, "image/png"), 413, "payload_too_large"
    )
    assert refused["details"][0]["field"] == "image"
    _unchanged(admin, product)


def test_an_upload_for_an_unknown_product_is_a_404(admin: httpx.Client) -> None:
    assert_error(upload(admin, fresh("prod-none"), png(), "image/png"), 404, "unknown_product")


def test_only_the_operator_may_upload(
    api: httpx.Client, admin: httpx.Client, shopper: Shopper
) -> None:
    product = launch(admin)
    path = f"/admin/products/{product['id']}/image"
    as_shopper = api.post(
        path, content=png(), headers={**shopper.headers, "Content-Type": "image/png"}
    )
    assert_error(as_shopper, 403, "forbidden")
    assert api.post(path, content=png(), headers={"Content-Type": "image/png"}).status_code == 401
    _unchanged(admin, product)


def test_only_stored_uploads_are_served(server: ServerProcess) -> None:
    for name in ("0" * 32 + ".webp", "x.svg", "log.sqlite"):
        assert_error(image_at(server, f"/images/uploads/{name}"), 404, "not_found")
    # a path out of the folder is no upload name: the route does not even match it
    escape = image_at(server, "/images/uploads/..%2F..%2Flog.sqlite")
    assert not escape.content.startswith(b"SQLite format")
    assert escape.headers["content-type"] != "image/webp"
