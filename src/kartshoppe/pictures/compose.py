"""A product picture as SVG: its illustration's icons from `illustrations.json` on a soft tile.

The icon bodies are copied verbatim from open-licensed npm sets (see the asset's `sets` for each
one's licence, and NOTICE); the picture adds only a background tile, a badge disc and, where the
illustration says so, a hue rotation, a tint in the product's colour or a horizontal stretch.
No text, no external reference: the result is the same bytes for the same illustration,
cacheable and a few KB before compression.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Final

from kartshoppe.events import Product
from kartshoppe.pictures.match import DEFAULT_PICTURE, Illustration, illustration_for

ASSET: Final = Path(__file__).with_name("illustrations.json")
SIZE: Final = 400
"""The picture's intrinsic size in CSS pixels; it is vector, so any other size is as sharp."""

TILES: Final[dict[str, str]] = {
    "Electronics": "#e0f2fe",
    "Computers": "#e0e7ff",
    "Audio": "#f3e8ff",
    "Home & Kitchen": "#fef3c7",
    "Fashion": "#fce7f3",
    "Shoes": "#ffedd5",
    "Sports & Outdoors": "#dcfce7",
    "Books": "#f5f5f4",
    "Toys & Games": "#fef9c3",
    "Beauty": "#ffe4e6",
    "Garden": "#ecfccb",
    "Grocery": "#fae8d2",
}
"""A soft background per demo category; any other category gets one derived from its name."""


@cache
def _asset() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ASSET.read_text())
    return data


def licences() -> dict[str, Any]:
    """The illustration sets the pictures are drawn from, with their authors and licences."""
    sets: dict[str, Any] = _asset()["sets"]
    return sets


def _tile(category: str) -> str:
    known = TILES.get(category)
    if known is not None:
        return known
    # a pale colour from a stable hash (not `hash()`, which changes per process)
    digest = hashlib.sha256(category.encode()).digest()
    red, green, blue = (235 + digest[i] % 21 for i in range(3))
    return f"#{red:02x}{green:02x}{blue:02x}"


def _icon(key: str, x: float, y: float, width: float, height: float, stretched: bool) -> str:
    icon = _asset()["icons"][key]
    fit = ' preserveAspectRatio="none"' if stretched else ""
    return (
        f'<svg x="{x:g}" y="{y:g}" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {icon["width"]} {icon["height"]}"{fit}>{icon["body"]}</svg>'
    )


@lru_cache(maxsize=1024)
def illustration_svg(picture: Illustration, category: str) -> str:
    """The SVG of `picture` on `category`'s tile."""
    size = 62.0
    width = size * picture.stretch
    main = _icon(picture.icon, (100 - width) / 2, 17, width, size, stretched=picture.stretch != 1.0)
    defs = ""
    if picture.tint is not None:
        defs = f"<defs>{_tint_filter(picture.tint)}</defs>"
        main = f'<g filter="url(#tint)">{main}</g>'
    elif picture.hue:
        defs = (
            '<defs><filter id="hue" color-interpolation-filters="sRGB">'
            f'<feColorMatrix type="hueRotate" values="{picture.hue}"/></filter></defs>'
        )
        main = f'<g filter="url(#hue)">{main}</g>'
    badge = ""
    if picture.badge is not None:
        badge = (
            '<circle cx="76" cy="76" r="17" fill="#fff" stroke="#e2e8f0" stroke-width="1"/>'
            + _icon(picture.badge, 64, 64, 24, 24, stretched=False)
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 100 100">{defs}<rect width="100" height="100" fill="{_tile(category)}"/>'
        f'<circle cx="50" cy="48" r="38" fill="#fff" fill-opacity=".55"/>{main}{badge}</svg>'
    )


TINT_BODY: Final = (0.15, 0.85)
"""The lightness range drawn in the tint's own colour: where the icons' body colours lie, pale
or dark, so a pale jacket in black comes out black, not grey."""
TINT_STEPS: Final = 20


def tint_ramp(lightness: float, value: float) -> float:
    """One channel of the tint at a pixel's `lightness`: from black (outlines stay dark) up to
    the tint's `value` (slightly darker at the body's dark end, which keeps its shading), then
    up to white (highlights stay light)."""
    low, high = TINT_BODY
    if lightness <= low:
        return value * 0.85 * lightness / low
    if lightness <= high:
        return value * (0.85 + 0.15 * (lightness - low) / (high - low))
    return value + (1 - value) * (lightness - high) / (1 - high)


def _tint_filter(colour: str) -> str:
    """A filter drawing its input in `colour` by each pixel's lightness (`tint_ramp`)."""
    channels = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    ramps = "".join(
        f'<feFunc{name} type="table" tableValues="'
        + " ".join(f"{tint_ramp(k / TINT_STEPS, value):.3g}" for k in range(TINT_STEPS + 1))
        + '"/>'
        for name, value in zip("RGB", channels, strict=True)
    )
    return (
        '<filter id="tint" color-interpolation-filters="sRGB">'
        '<feColorMatrix type="saturate" values="0"/>'
        f"<feComponentTransfer>{ramps}</feComponentTransfer></filter>"
    )


def product_svg(product: Product) -> str:
    """The picture of `product`, chosen by its category, name and tags."""
    picture = illustration_for(product.category, product.name, product.tags, product.brand)
    return illustration_svg(picture, product.category)


def placeholder_svg() -> str:
    """The picture for an id with no product: a parcel."""
    return illustration_svg(DEFAULT_PICTURE, "")
