"""A product's image: an upload replaces its illustration and can be taken back, as a catalog
event carrying the whole product; setting the image it already shows changes nothing."""

from __future__ import annotations

from kartshoppe.domain.catalog import decide_image_change, evolve_product, generated_image_url
from kartshoppe.events import CATALOG_EVENTS, ProductImageChanged
from tests.domain.domain_support import meta, product

UPLOAD = "/images/uploads/0123456789abcdef0123456789abcdef.webp"


def test_an_upload_replaces_the_illustration_with_the_whole_product_attached() -> None:
    before = product(image_url=generated_image_url("p1"))
    (event,) = decide_image_change(before, UPLOAD, meta())
    assert isinstance(event, ProductImageChanged) and isinstance(event, CATALOG_EVENTS)
    assert (event.product_id, event.image_url) == ("p1", UPLOAD)
    assert evolve_product(before, event) == before.model_copy(update={"image_url": UPLOAD})


def test_taking_the_upload_back_shows_the_illustration_again() -> None:
    (event,) = decide_image_change(product(image_url=UPLOAD), None, meta())
    assert isinstance(event, ProductImageChanged)
    assert event.product.image_url == "/images/products/p1.svg"


def test_setting_the_image_already_shown_decides_nothing() -> None:
    assert decide_image_change(product(image_url=UPLOAD), UPLOAD, meta()) == []
    assert decide_image_change(product(image_url=generated_image_url("p1")), None, meta()) == []
