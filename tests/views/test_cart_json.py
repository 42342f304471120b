"""A cart's JSON, built directly for every push and answer, has the `CartOut` model's shape."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.domain.cart import Cart
from kartshoppe.events import CartLine, FlashSale, Product
from kartshoppe.views.models import CartOut

NOW = 1_800_000_000_000


def product(product_id: str, price: str, sale_price: str | None = None) -> Product:
    sale = None
    if sale_price is not None:
        sale = FlashSale(
            discount_percent=50, starts_at=NOW - 1, ends_at=NOW + 1, sale_price=Decimal(sale_price)
        )
    return Product(
        id=product_id,
        name=f"Product {product_id}",
        category="Gear",
        price=Decimal(price),
        original_price=Decimal(price),
        flash_sale=sale,
    )


def test_the_cart_json_is_the_cart_model_s_json_with_each_line_at_the_price_charged() -> None:
    products = {"p1": product("p1", "10.00"), "p2": product("p2", "8.00", sale_price="4.00")}
    lines = (
        CartLine(product_id="p1", quantity=3, unit_price=Decimal("9.99"), name="Product p1"),
        CartLine(product_id="p2", quantity=2, unit_price=Decimal("8.00"), name="Product p2"),
        # a product the catalog no longer has keeps its snapshot price and name
        CartLine(product_id="gone", quantity=1, unit_price=Decimal("1.50"), name="Old thing"),
    )
    cart = Cart("user_1", session_id=None, user_id="user_1", lines=lines, updated_at=NOW - 5)

    built = CartOut.json_of(cart, products, NOW)

    assert CartOut.model_validate(built).to_json() == built
    assert built == {
        "cartId": "user_1",
        "sessionId": None,
        "userId": "user_1",
        "lines": [
            {"productId": "p1", "name": "Product p1", "quantity": 3, "unitPrice": 9.99,
             "lineTotal": 29.97},
            {"productId": "p2", "name": "Product p2", "quantity": 2, "unitPrice": 4.0,
             "lineTotal": 8.0},
            {"productId": "gone", "name": "Old thing", "quantity": 1, "unitPrice": 1.5,
             "lineTotal": 1.5},
        ],
        "itemCount": 6,
        "subtotal": 39.47,
        "updatedAt": NOW - 5,
    }  # fmt: skip


def a_cart() -> Cart:
    lines = (
        CartLine(product_id="p1", quantity=1, unit_price=Decimal("10.00"), name="Product p1"),
        CartLine(product_id="p2", quantity=1, unit_price=Decimal("8.00"), name="Product p2"),
    )
    return Cart("user_2", session_id=None, user_id="user_2", lines=lines, updated_at=NOW)


def test_the_push_and_the_answer_of_one_write_share_one_pricing_of_the_cart() -> None:
    products = {"p1": product("p1", "10.00"), "p2": product("p2", "8.00", sale_price="4.00")}
    cart = a_cart()

    pushed = CartOut.json_of(cart, products, NOW)
    answered = CartOut.json_of(cart, products, NOW)

    assert answered is pushed


def test_a_cart_is_priced_again_when_a_sale_ends_a_product_changes_or_the_cart_does() -> None:
    products = {"p1": product("p1", "10.00"), "p2": product("p2", "8.00", sale_price="4.00")}
    cart = a_cart()
    assert CartOut.json_of(cart, products, NOW)["subtotal"] == 14.0

    # the flash sale ended a millisecond later: the same cart and products, a new price
    assert CartOut.json_of(cart, products, NOW + 1)["subtotal"] == 18.0

    repriced = {**products, "p1": product("p1", "6.00")}
    assert CartOut.json_of(cart, repriced, NOW + 1)["subtotal"] == 14.0

    more = Cart("user_2", None, "user_2", (*cart.lines, cart.lines[0]), NOW + 2)
    assert CartOut.json_of(more, repriced, NOW + 2)["subtotal"] == 20.0


def test_a_cart_priced_before_a_flash_sale_is_priced_again_when_it_starts() -> None:
    sale = FlashSale(
        discount_percent=50, starts_at=NOW + 10, ends_at=NOW + 20, sale_price=Decimal("5.00")
    )
    products = {
        "p1": product("p1", "10.00"),
        "p2": product("p2", "8.00").model_copy(update={"flash_sale": sale}),
    }
    cart = a_cart()

    before = CartOut.json_of(cart, products, NOW)
    assert CartOut.json_of(cart, products, NOW + 9) is before
    assert before["subtotal"] == 18.0
    assert CartOut.json_of(cart, products, NOW + 10)["subtotal"] == 15.0
