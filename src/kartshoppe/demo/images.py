"""Product images: a self-contained SVG drawn from a product's category, id and name.

Each image is a category pictogram on a gradient whose colours are derived from the product id
(the same id always gives the same colours), with the product name underneath. No external
fonts, images or URLs, so the API can serve it at `/images/products/{id}.svg` as is.
"""

from __future__ import annotations

import colorsys
import hashlib
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from kartshoppe.events import Product

SIZE: Final = 400
MAX_LINE_CHARS: Final = 24
MAX_LINES: Final = 3
FONT_STACK: Final = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"

# XML 1.0 refuses these code points even when escaped, so they are dropped from text
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Palette:
    top: str
    bottom: str
    primary: str
    secondary: str
    ink: str
    light: str = "#ffffff"


def _hex(hue: float, lightness: float, saturation: float) -> str:
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def palette_for(key: str) -> Palette:
    """Colours derived from a stable hash of `key` (not `hash()`, which varies per process)."""
    digest = hashlib.sha256(key.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    accent = hue + 140 + digest[2] % 80
    return Palette(
        top=_hex(hue, 0.95, 0.6),
        bottom=_hex(hue + 25, 0.85, 0.55),
        primary=_hex(hue, 0.52, 0.55),
        secondary=_hex(accent, 0.62, 0.6),
        ink=_hex(hue, 0.22, 0.45),
    )


# --- pictograms, each drawn in a 200x200 box ---------------------------------------------------


def _phone(p: Palette) -> str:
    return (
        f'<rect x="60" y="10" width="80" height="180" rx="14" fill="{p.primary}" '
        f'stroke="{p.ink}" stroke-width="4"/>'
        f'<rect x="69" y="28" width="62" height="136" rx="4" fill="{p.secondary}"/>'
        f'<circle cx="100" cy="177" r="5" fill="{p.light}"/>'
    )


def _laptop(p: Palette) -> str:
    return (
        f'<rect x="32" y="38" width="136" height="98" rx="8" fill="{p.ink}"/>'
        f'<rect x="42" y="48" width="116" height="78" rx="2" fill="{p.secondary}"/>'
        f'<path d="M10 144 H190 L178 166 H22 Z" fill="{p.primary}"/>'
        f'<rect x="85" y="148" width="30" height="5" rx="2" fill="{p.light}"/>'
    )


def _headphones(p: Palette) -> str:
    return (
        f'<path d="M40 122 A60 60 0 0 1 160 122" fill="none" stroke="{p.ink}" '
        f'stroke-width="14" stroke-linecap="round"/>'
        f'<rect x="24" y="108" width="36" height="66" rx="14" fill="{p.primary}"/>'
        f'<rect x="140" y="108" width="36" height="66" rx="14" fill="{p.primary}"/>'
        f'<rect x="34" y="122" width="16" height="38" rx="6" fill="{p.secondary}"/>'
        f'<rect x="150" y="122" width="16" height="38" rx="6" fill="{p.secondary}"/>'
    )


def _mug(p: Palette) -> str:
    return (
        f'<path d="M80 20 Q70 35 80 50 M100 20 Q90 35 100 50 M120 20 Q110 35 120 50" '
        f'fill="none" stroke="{p.secondary}" stroke-width="6" stroke-linecap="round"/>'
        f'<path d="M138 86 H152 A24 24 0 0 1 152 134 H138" fill="none" stroke="{p.ink}" '
        f'stroke-width="12"/>'
        f'<rect x="46" y="62" width="94" height="116" rx="12" fill="{p.primary}"/>'
        f'<rect x="46" y="62" width="94" height="14" rx="6" fill="{p.ink}"/>'
    )


def _shirt(p: Palette) -> str:
    return (
        f'<path d="M70 28 L40 42 L12 86 L44 102 L56 88 L56 182 H144 L144 88 L156 102 '
        f'L188 86 L160 42 L130 28 Q100 56 70 28 Z" fill="{p.primary}" stroke="{p.ink}" '
        f'stroke-width="4" stroke-linejoin="round"/>'
        f'<rect x="112" y="70" width="18" height="20" rx="3" fill="{p.secondary}"/>'
    )


def _shoe(p: Palette) -> str:
    return (
        f'<path d="M20 146 V96 Q20 80 36 80 H72 Q88 112 122 116 L164 124 Q186 130 186 146 Z" '
        f'fill="{p.primary}" stroke="{p.ink}" stroke-width="4" stroke-linejoin="round"/>'
        f'<rect x="14" y="146" width="178" height="18" rx="8" fill="{p.ink}"/>'
        f'<path d="M80 96 L92 88 M90 104 L102 96 M100 110 L112 102" stroke="{p.light}" '
        f'stroke-width="5" stroke-linecap="round"/>'
        f'<path d="M24 132 H180" stroke="{p.secondary}" stroke-width="6"/>'
    )


def _mountain(p: Palette) -> str:
    return (
        f'<circle cx="150" cy="50" r="22" fill="{p.secondary}"/>'
        f'<path d="M8 176 L74 58 L118 134 L144 96 L192 176 Z" fill="{p.primary}" '
        f'stroke="{p.ink}" stroke-width="4" stroke-linejoin="round"/>'
        f'<path d="M74 58 L92 90 L80 84 L70 96 L62 80 Z" fill="{p.light}"/>'
    )


def _book(p: Palette) -> str:
    return (
        f'<rect x="50" y="22" width="112" height="156" rx="6" fill="{p.light}" '
        f'stroke="{p.ink}" stroke-width="4"/>'
        f'<rect x="42" y="16" width="110" height="156" rx="6" fill="{p.primary}"/>'
        f'<rect x="42" y="16" width="18" height="156" rx="4" fill="{p.ink}"/>'
        f'<rect x="74" y="46" width="62" height="10" rx="3" fill="{p.secondary}"/>'
        f'<rect x="74" y="64" width="46" height="8" rx="3" fill="{p.light}"/>'
    )


def _die(p: Palette) -> str:
    pips = "".join(
        f'<circle cx="{x}" cy="{y}" r="11" fill="{p.light}"/>'
        for x, y in ((70, 70), (130, 70), (100, 100), (70, 130), (130, 130))
    )
    return (
        f'<rect x="36" y="36" width="128" height="128" rx="22" fill="{p.primary}" '
        f'stroke="{p.ink}" stroke-width="4"/>{pips}'
    )


def _bottle(p: Palette) -> str:
    return (
        f'<rect x="78" y="16" width="44" height="30" rx="6" fill="{p.ink}"/>'
        f'<rect x="86" y="44" width="28" height="26" fill="{p.secondary}"/>'
        f'<rect x="56" y="68" width="88" height="116" rx="18" fill="{p.primary}" '
        f'stroke="{p.ink}" stroke-width="4"/>'
        f'<rect x="70" y="104" width="60" height="44" rx="6" fill="{p.light}"/>'
    )


def _plant(p: Palette) -> str:
    return (
        f'<path d="M100 120 V60" stroke="{p.ink}" stroke-width="6"/>'
        f'<ellipse cx="76" cy="74" rx="28" ry="13" transform="rotate(-30 76 74)" '
        f'fill="{p.secondary}"/>'
        f'<ellipse cx="124" cy="58" rx="28" ry="13" transform="rotate(30 124 58)" '
        f'fill="{p.secondary}"/>'
        f'<ellipse cx="100" cy="34" rx="12" ry="24" fill="{p.secondary}"/>'
        f'<path d="M56 122 H144 L130 186 H70 Z" fill="{p.primary}" stroke="{p.ink}" '
        f'stroke-width="4" stroke-linejoin="round"/>'
        f'<rect x="50" y="114" width="100" height="16" rx="4" fill="{p.ink}"/>'
    )


def _basket(p: Palette) -> str:
    return (
        f'<path d="M50 92 Q100 10 150 92" fill="none" stroke="{p.ink}" stroke-width="8"/>'
        f'<circle cx="80" cy="86" r="20" fill="{p.secondary}"/>'
        f'<circle cx="118" cy="82" r="22" fill="{p.light}"/>'
        f'<path d="M20 92 H180 L160 178 H40 Z" fill="{p.primary}" stroke="{p.ink}" '
        f'stroke-width="4" stroke-linejoin="round"/>'
        f'<path d="M70 104 L76 166 M100 104 V166 M130 104 L124 166" stroke="{p.ink}" '
        f'stroke-width="5" stroke-linecap="round"/>'
    )


def _parcel(p: Palette) -> str:
    return (
        f'<path d="M100 20 L176 56 V144 L100 182 L24 144 V56 Z" fill="{p.primary}" '
        f'stroke="{p.ink}" stroke-width="4" stroke-linejoin="round"/>'
        f'<path d="M24 56 L100 94 L176 56 M100 94 V182" fill="none" stroke="{p.ink}" '
        f'stroke-width="4"/>'
        f'<path d="M62 38 L138 76 V104" fill="none" stroke="{p.secondary}" stroke-width="10"/>'
    )


PICTOGRAMS: Final[dict[str, Callable[[Palette], str]]] = {
    "Electronics": _phone,
    "Computers": _laptop,
    "Audio": _headphones,
    "Home & Kitchen": _mug,
    "Fashion": _shirt,
    "Shoes": _shoe,
    "Sports & Outdoors": _mountain,
    "Books": _book,
    "Toys & Games": _die,
    "Beauty": _bottle,
    "Garden": _plant,
    "Grocery": _basket,
}
"""Pictogram by category; any other category gets a parcel."""


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _lines(text: str) -> list[str]:
    lines = textwrap.wrap(text, MAX_LINE_CHARS, break_long_words=True) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: MAX_LINE_CHARS - 1].rstrip() + "\u2026"
    return lines


def _svg(key: str, title: str, subtitle: str, pictogram: Callable[[Palette], str]) -> str:
    palette = palette_for(key)
    title = _clean(title)
    gradient = "bg-" + re.sub(r"[^A-Za-z0-9_-]", "", key)[:60]
    line_height = 28
    first_y = 318 - (len(_lines(title)) - 1) * line_height // 2
    tspans = "".join(
        f'<tspan x="{SIZE // 2}" y="{first_y + i * line_height}">{escape(line)}</tspan>'
        for i, line in enumerate(_lines(title))
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img" aria-label={quoteattr(title)}>'
        f"<title>{escape(title)}</title>"
        f'<defs><linearGradient id="{gradient}" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{palette.top}"/>'
        f'<stop offset="1" stop-color="{palette.bottom}"/></linearGradient></defs>'
        f'<rect width="{SIZE}" height="{SIZE}" fill="url(#{gradient})"/>'
        f'<circle cx="200" cy="150" r="118" fill="{palette.light}" fill-opacity="0.55"/>'
        f'<g transform="translate(110 60) scale(0.9)">{pictogram(palette)}</g>'
        f'<text x="{SIZE // 2}" y="262" text-anchor="middle" font-family="{FONT_STACK}" '
        f'font-size="13" letter-spacing="2" fill="{palette.ink}" fill-opacity="0.7">'
        f"{escape(_clean(subtitle).upper())}</text>"
        f'<text text-anchor="middle" font-family="{FONT_STACK}" font-size="22" '
        f'font-weight="600" fill="{palette.ink}">{tspans}</text>'
        "</svg>"
    )


def product_svg(product: Product) -> str:
    """The product's image: its category pictogram, id-derived colours and its name."""
    pictogram = PICTOGRAMS.get(product.category, _parcel)
    return _svg(product.id, product.name, product.category, pictogram)


def placeholder_svg(text: str) -> str:
    """An image for an id with no product: a parcel pictogram captioned with `text`."""
    return _svg(text, text, "", _parcel)
