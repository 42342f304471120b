"""Wishlist alerts: each wisher hears of a price drop or a return to stock, nobody else."""

from __future__ import annotations

from decimal import Decimal

from kartshoppe.events import (
    FlashSale,
    FlashSaleStarted,
    InventoryChanged,
    PriceChanged,
    Product,
    Topic,
    WishlistAlert,
    WishlistItemAdded,
    WishlistItemRemoved,
)
from kartshoppe.processors.wishlist import WishlistAlerts
from tests.processors.processor_harness import Emitted, MakeDriver

T0 = 1_700_000_000_000
PRODUCT = Product(id="p1", name="Kettle", category="Home", price=20, original_price=20)


def wish(user: str, ts: int = T0) -> WishlistItemAdded:
    return WishlistItemAdded(product_id="p1", user_id=user, session_id="s", timestamp=ts)


def price(old: str, new: str, ts: int = T0 + 10) -> PriceChanged:
    product = PRODUCT.model_copy(update={"price": Decimal(new)})
    return PriceChanged(
        product_id="p1", old_price=old, new_price=new, product=product, timestamp=ts
    )


def level(available: int, ts: int = T0 + 10) -> InventoryChanged:
    return InventoryChanged(
        product_id="p1", stock=available, available=available, reason="ADJUSTMENT", timestamp=ts
    )


def alerts(emitted: list[Emitted]) -> list[tuple[str, str | None, str]]:
    return [(topic, key, e.reason) for topic, key, e in emitted if isinstance(e, WishlistAlert)]


def test_a_price_drop_alerts_every_wisher_on_their_own_key(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    driver.feed(wish("u1"), wish("u2"), wish("u1"))
    emitted = driver.feed(price("20.00", "15.00"), topic=Topic.PRODUCT_UPDATES.value)
    fanout = Topic.FANOUT.value
    assert alerts(emitted) == [(fanout, "u1", "PRICE_DROP"), (fanout, "u2", "PRICE_DROP")]
    alert = next(e for _, _, e in emitted if isinstance(e, WishlistAlert))
    assert (alert.user_id, alert.old_price, alert.new_price) == (
        "u1",
        Decimal("20.00"),
        Decimal("15.00"),
    )


def test_a_price_rise_alerts_nobody(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    driver.feed(wish("u1"))
    assert alerts(driver.feed(price("20.00", "25.00"), topic=Topic.PRODUCT_UPDATES.value)) == []


def test_a_flash_sale_is_a_price_drop(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    driver.feed(wish("u1"))
    sale = FlashSale(discount_percent=25, starts_at=T0, ends_at=T0 + 1000, sale_price=15)
    started = FlashSaleStarted(product_id="p1", flash_sale=sale, product=PRODUCT, timestamp=T0)
    emitted = driver.feed(started, topic=Topic.PRODUCT_UPDATES.value)
    assert [reason for _, _, reason in alerts(emitted)] == ["PRICE_DROP"]


def test_coming_back_in_stock_alerts_wishers_once(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    inventory = Topic.INVENTORY_UPDATES.value
    driver.feed(level(3), level(0), topic=inventory)
    driver.feed(wish("u1"))
    back = driver.feed(level(4), topic=inventory)
    assert alerts(back) == [(Topic.FANOUT.value, "u1", "BACK_IN_STOCK")]
    assert alerts(driver.feed(level(9), topic=inventory)) == []


def test_a_removed_wish_gets_no_alert(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    removed = WishlistItemRemoved(product_id="p1", user_id="u1", session_id="s", timestamp=T0)
    driver.feed(wish("u1"), removed)
    assert alerts(driver.feed(price("20.00", "10.00"), topic=Topic.PRODUCT_UPDATES.value)) == []


def test_the_wishers_survive_a_restart(make_driver: MakeDriver) -> None:
    driver = make_driver(WishlistAlerts())
    driver.feed(wish("u1"))
    driver.restart()
    emitted = driver.feed(price("20.00", "19.00"), topic=Topic.PRODUCT_UPDATES.value)
    assert [key for _, key, _ in alerts(emitted)] == ["u1"]
