"""Product pictures show what the product is: each demo product's picture matches its kind, unlike
products never share one, a new product gets a fitting one from its category, name and tags, and
every picture is small, text-free SVG built only from the shipped open-licensed icons."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict

import pytest

from kartshoppe.demo import seed_products
from kartshoppe.demo.seed import _CATEGORY_SPECS
from kartshoppe.events import Product
from kartshoppe.pictures.compose import (
    TINT_BODY,
    _asset,
    illustration_svg,
    licences,
    placeholder_svg,
    product_svg,
    tint_ramp,
)
from kartshoppe.pictures.match import (
    CATEGORY_PICTURES,
    COLOURS,
    DEFAULT_PICTURE,
    FLUENT,
    OPENMOJI,
    Illustration,
    icons_used,
    illustration_for,
)

SVG = "{http://www.w3.org/2000/svg}"

F, OM = f"{FLUENT}:", f"{OPENMOJI}:"
DEMO_KINDS: dict[str, tuple[str, str | None]] = {
    # the kind's noun in the demo catalog: (main icon, badge)
    "Smartphone": (F + "mobile-phone", None),
    "Smartwatch": (F + "watch", F + "red-heart"),
    "Tablet": (F + "mobile-phone", None),  # drawn wider, see the stretch test
    "4K Action Camera": (F + "camera", F + "droplet"),
    "Power Bank": (F + "battery", F + "high-voltage"),
    "Streaming Stick": (F + "television", F + "clapper-board"),
    "Smart Speaker": (F + "speaker-high-volume", F + "speech-balloon"),
    "Ultrabook Laptop": (F + "laptop", None),
    "Gaming Laptop": (F + "laptop", F + "video-game"),
    "Mechanical Keyboard": (F + "keyboard", None),
    "Wireless Mouse": (F + "computer-mouse", None),
    "27-inch Monitor": (F + "desktop-computer", None),
    "Portable SSD": (F + "computer-disk", None),
    "USB-C Docking Station": (F + "electric-plug", F + "laptop"),
    "Wireless Earbuds": (F + "ear", F + "musical-notes"),
    "Over-Ear Headphones": (F + "headphone", None),
    "Bluetooth Speaker": (F + "radio", None),
    "Soundbar": (F + "television", F + "speaker-high-volume"),
    "Turntable": (F + "optical-disk", F + "musical-note"),
    "USB Microphone": (F + "studio-microphone", None),
    "Cast Iron Skillet": (F + "cooking", None),
    "Espresso Machine": (OM + "espresso-machine", None),
    "Chef's Knife": (F + "kitchen-knife", None),
    "Air Fryer": (F + "french-fries", F + "dashing-away"),
    "Robot Vacuum": (F + "broom", F + "robot"),
    "Linen Duvet Set": (F + "bed", None),
    "Pour-Over Coffee Kettle": (F + "teapot", F + "hot-beverage"),
    "Denim Jacket": (F + "coat", None),
    "Merino Crewneck Sweater": (F + "t-shirt", F + "yarn"),
    "Organic Cotton T-Shirt": (F + "t-shirt", None),
    "Chino Trousers": (F + "jeans", None),
    "Rain Parka": (F + "coat", F + "umbrella-with-rain-drops"),
    "Leather Belt": (F + "curly-loop", None),
    "Running Shoes": (F + "running-shoe", None),
    "Leather Sneakers": (OM + "sneaker", None),
    "Hiking Boots": (F + "hiking-boot", None),
    "Chelsea Boots": (F + "womans-boot", None),
    "Slide Sandals": (OM + "adilette", None),
    "Yoga Mat": (F + "person-in-lotus-position", None),
    "Adjustable Dumbbells": (F + "person-lifting-weights", None),
    "2-Person Tent": (F + "tent", None),
    "Insulated Water Bottle": (OM + "plastic-bottle", F + "droplet"),
    "Trekking Poles": (F + "skis", F + "snow-capped-mountain"),
    "Road Bike Helmet": (OM + "bicycle-helmet", None),
    "Cookbook": (F + "open-book", F + "fork-and-knife-with-plate"),
    "Mystery Novel": (F + "closed-book", F + "magnifying-glass-tilted-left"),
    "Programming Guide": (F + "blue-book", F + "laptop"),
    "Science Fiction Novel": (F + "orange-book", F + "rocket"),
    "Illustrated Field Guide": (F + "green-book", None),  # the badge follows the subject
    "Building Blocks Set": (F + "brick", None),
    "Strategy Board Game": (F + "chess-pawn", F + "game-die"),
    "Remote Control Car": (F + "racing-car", F + "joystick"),
    "Jigsaw Puzzle": (F + "puzzle-piece", None),
    "Plush Bear": (F + "teddy-bear", None),
    "Coding Robot Kit": (F + "robot", F + "laptop"),
    "Vitamin C Serum": (F + "test-tube", F + "tangerine"),
    "Daily Moisturiser": (F + "lotion-bottle", F + "droplet"),
    "Matte Lipstick": (F + "lipstick", None),
    "Eau de Parfum": (F + "rose", F + "sparkles"),
    "Hair Dryer": (F + "person-getting-haircut", F + "dashing-away"),
    "Raised Garden Bed": (F + "wood", F + "seedling"),
    "Cordless Hedge Trimmer": (F + "scissors", F + "evergreen-tree"),
    "Ceramic Plant Pot": (F + "potted-plant", None),
    "Expandable Garden Hose": (F + "curly-loop", F + "droplet"),
    "Herb Seed Kit": (F + "seedling", F + "herb"),
    "Solar Path Lights": (F + "light-bulb", F + "sun"),
    "Single-Origin Coffee Beans": (OM + "roasted-coffee-bean", F + "hot-beverage"),
    "Extra Virgin Olive Oil": (F + "olive", F + "droplet"),
    "Dark Chocolate Bar": (F + "chocolate-bar", None),
    "Green Tea": (F + "teacup-without-handle", None),
    "Granola": (F + "bowl-with-spoon", None),
    "Raw Wildflower Honey": (F + "honey-pot", None),
}
FIELD_GUIDE_BADGES = {
    "Birds": F + "bird",
    "Wildflowers": F + "tulip",
    "Trees": F + "deciduous-tree",
}


def _kind(product: Product) -> str:
    """The demo kind a product was made from (its name is `brand noun variant`)."""
    nouns = [
        k.noun for spec in _CATEGORY_SPECS for k in spec.kinds if f" {k.noun} " in product.name
    ]
    assert len(nouns) == 1, (product.name, nouns)
    return nouns[0]


@pytest.fixture(scope="module")
def products() -> list[Product]:
    return seed_products()


def test_the_table_covers_every_kind_of_the_demo_catalog() -> None:
    assert {k.noun for spec in _CATEGORY_SPECS for k in spec.kinds} == set(DEMO_KINDS)


def test_each_demo_products_picture_shows_its_kind(products: list[Product]) -> None:
    for product in products:
        picture = illustration_for(product.category, product.name, product.tags)
        icon, badge = DEMO_KINDS[_kind(product)]
        assert picture.icon == icon, product.name
        if _kind(product) == "Illustrated Field Guide":
            subject = product.name.rsplit(" ", 1)[1]
            assert picture.badge == FIELD_GUIDE_BADGES[subject], product.name
        else:
            assert picture.badge == badge, product.name


def test_unlike_demo_products_never_share_a_picture(products: list[Product]) -> None:
    kinds_by_svg: dict[str, set[str]] = defaultdict(set)
    for product in products:
        kinds_by_svg[product_svg(product)].add(_kind(product))
    shared = {svg[-80:]: kinds for svg, kinds in kinds_by_svg.items() if len(kinds) > 1}
    assert shared == {}
    # and no two kinds are given the same composition under different colours
    compositions: dict[Illustration, set[str]] = defaultdict(set)
    for product in products:
        picture = illustration_for(product.category, product.name, product.tags)
        compositions[picture].add(_kind(product))
    assert all(len(kinds) == 1 for kinds in compositions.values())


def test_a_tablet_is_the_phone_drawn_wider(products: list[Product]) -> None:
    tablet = illustration_for("Electronics", "Nexora Tablet 10-inch")
    phone = illustration_for("Electronics", "Nexora Smartphone Lite")
    assert tablet.icon == phone.icon
    assert tablet.stretch > 1.3
    assert 'preserveAspectRatio="none"' in illustration_svg(tablet, "Electronics")


@pytest.mark.parametrize(
    ("category", "name", "tags", "icon"),
    [
        # the name decides first
        ("Toys & Games", "Cuddly Teddy", (), F + "teddy-bear"),
        ("Home & Kitchen", "Enamel Frying Pan 28cm", (), F + "cooking"),
        ("Sports & Outdoors", "Steel Water Bottle", ("kids",), OM + "plastic-bottle"),
        ("Electronics", "Noise-Cancelling Headphones", ("bottle",), F + "headphone"),
        ("Garden", "Rose Bush 'Gloria'", (), F + "rose"),
        ("Fashion", "Wool Scarves", (), F + "scarf"),  # plurals are understood
        ("Grocery", "Chocolate Cookies", (), F + "chocolate-bar"),  # the earlier rule wins
        # then the tags, one at a time
        ("Sports & Outdoors", "AquaFlow 2000", ("hydration", "bottle"), OM + "plastic-bottle"),
        ("Audio", "Studio One", ("microphone",), F + "studio-microphone"),
        # then the category
        ("Garden", "Gizmo 3000", ("misc",), CATEGORY_PICTURES["Garden"].icon),
        ("Books", "Untitled", (), CATEGORY_PICTURES["Books"].icon),
        # an unknown category is still read for words, else the parcel
        ("Pet Supplies for Cats", "Scratcher", (), F + "cat"),
        ("Miscellaneous", "Thing", (), DEFAULT_PICTURE.icon),
    ],
)
def test_a_launched_product_gets_a_fitting_picture(
    category: str, name: str, tags: tuple[str, ...], icon: str
) -> None:
    assert illustration_for(category, name, tags).icon == icon


@pytest.mark.parametrize(
    ("name", "not_icon"),
    [
        ("Capsule Wardrobe Box", F + "billed-cap"),  # "cap" only as a whole word
        ("Tiebreaker Card Game", F + "necktie"),
        ("Catalogue 2026", F + "cat"),
    ],
)
def test_words_match_whole_words_only(name: str, not_icon: str) -> None:
    assert illustration_for("Other", name).icon != not_icon


def test_the_name_beats_the_tags() -> None:
    assert illustration_for("Audio", "Retro Turntable", ("speaker",)).icon == F + "optical-disk"


COLOUR = dict(COLOURS)
DEMO_COLOURS = {
    # every demo variant that names a colour, and the colour it is drawn in
    "White": "white", "Black": "black", "Tan": "tan", "Navy": "navy", "Oatmeal": "oatmeal",
    "Charcoal": "charcoal", "Heather Grey": "grey", "Sage": "sage", "Slim Khaki": "khaki",
    "Straight Navy": "navy", "Relaxed Olive": "olive", "Forest": "forest", "Sand": "sand",
    "Brown": "brown", "Classic Blue": "blue", "Washed Black": "black", "Matte Black": "black",
    "Suede Tobacco": "tobacco", "Leather Black": "black", "Leather Brown": "brown",
    "Rosewood": "rosewood", "Ruby": "ruby", "Nude Petal": "nude",
}  # fmt: skip


def test_a_demo_product_is_drawn_in_the_colour_its_name_gives_it(products: list[Product]) -> None:
    variants = {v for spec in _CATEGORY_SPECS for k in spec.kinds for v in k.variants}
    assert set(DEMO_COLOURS) <= variants
    for product in products:
        variant = product.name.split(f" {_kind(product)} ", 1)[1]
        picture = illustration_for(product.category, product.name, product.tags, product.brand)
        expected = DEMO_COLOURS.get(variant)
        assert picture.tint == (COLOUR[expected] if expected else None), product.name


@pytest.mark.parametrize(
    ("category", "name", "brand"),
    [
        ("Grocery", "Wildroot Extra Virgin Olive Oil 1L", "Wildroot"),  # the product's noun
        ("Grocery", "Blue Hill Farm Raw Wildflower Honey", "Blue Hill Farm"),  # its brand
        ("Garden", "Fernwood Solar Path Lights Warm White 8-Pack", "Fernwood"),  # its light
        ("Grocery", "Good Pantry Green Tea Jasmine", "Good Pantry"),  # a kind of tea
        ("Garden", "Fernwood Herb Seed Kit Salad Greens", "Fernwood"),  # plants
        ("Beauty", "Petal & Pine Eau de Parfum Citrus Bloom", "Petal & Pine"),  # no colour at all
    ],
)
def test_words_that_name_something_else_are_no_colour(category: str, name: str, brand: str) -> None:
    assert illustration_for(category, name, (), brand).tint is None


def test_a_colour_replaces_the_shift_the_kind_is_drawn_with() -> None:
    plain = illustration_for("Shoes", "Airlume Chelsea Boots Suede")
    black = illustration_for("Shoes", "Airlume Chelsea Boots Leather Black")
    assert plain.hue != 0 and plain.tint is None
    assert (black.icon, black.hue, black.tint) == (plain.icon, 0, COLOUR["black"])
    svg = illustration_svg(black, "Shoes")
    assert 'filter="url(#tint)"' in svg and "hueRotate" not in svg
    ET.fromstring(svg)


@pytest.mark.parametrize("colour", sorted({c for _, c in COLOURS if c is not None}))
def test_the_tint_keeps_outlines_dark_highlights_light_and_the_body_in_its_colour(
    colour: str,
) -> None:
    for value in (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)):
        tones = [tint_ramp(k / 100, value) for k in range(101)]
        assert tones[0] == 0 and tones[-1] == pytest.approx(1)
        assert tones == sorted(tones), "lighter pixels never come out darker"
        low, high = TINT_BODY
        body = [tint_ramp(x / 100, value) for x in range(int(low * 100), int(high * 100) + 1)]
        assert min(body) >= 0.85 * value - 1e-9 and max(body) <= value + 1e-9


def _elements(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter())


def test_pictures_are_text_free_self_contained_svg(products: list[Product]) -> None:
    for svg in {product_svg(p) for p in products} | {placeholder_svg()}:
        root = ET.fromstring(svg)
        assert root.tag == f"{SVG}svg"
        assert root.get("viewBox") == "0 0 100 100"
        tags = {e.tag.removeprefix(SVG) for e in _elements(svg)}
        assert not tags & {"text", "tspan", "title", "desc", "script", "foreignObject", "image"}
        for element in _elements(svg):
            for attribute, value in element.attrib.items():
                assert not attribute.lower().startswith("on"), attribute
                if attribute.endswith("href"):
                    assert value.startswith("#"), value
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_pictures_are_light(products: list[Product]) -> None:
    sizes = sorted(len(product_svg(p).encode()) for p in products)
    assert sizes[-1] < 8 * 1024, sizes[-1]
    assert sizes[len(sizes) // 2] < 3 * 1024, sizes[len(sizes) // 2]


def test_pictures_are_deterministic_and_follow_the_products_words(
    products: list[Product],
) -> None:
    bear = next(p for p in products if "Plush Bear" in p.name)
    assert product_svg(bear) == product_svg(bear.model_copy())
    renamed = bear.model_copy(update={"name": "Cuddly Skillet", "tags": ()})
    assert product_svg(renamed) != product_svg(bear)


def test_the_asset_holds_exactly_the_icons_used_with_their_licences() -> None:
    assert set(_asset()["icons"]) == icons_used()
    sets = licences()
    assert sets[FLUENT]["license"]["spdx"] == "MIT"
    assert sets[OPENMOJI]["license"]["spdx"] == "CC-BY-SA-4.0"
    assert all(
        re.fullmatch(r"@iconify-json/[a-z-]+@\d+\.\d+\.\d+", s["package"]) for s in sets.values()
    )


def test_the_shipped_icons_hold_only_drawing_elements() -> None:
    allowed = {
        "svg", "g", "path", "circle", "ellipse", "rect", "defs", "use", "clipPath", "stop",
        "linearGradient", "radialGradient", "filter", "feOffset", "feGaussianBlur", "feFlood",
        "feColorMatrix", "feBlend",
    }  # fmt: skip
    for key, icon in _asset()["icons"].items():
        svg = f'<svg xmlns="http://www.w3.org/2000/svg">{icon["body"]}</svg>'
        assert {e.tag.removeprefix(SVG) for e in _elements(svg)} <= allowed, key
