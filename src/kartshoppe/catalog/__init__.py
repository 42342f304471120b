"""The demo catalog and the product images generated from it."""

from kartshoppe.catalog.images import placeholder_svg, product_svg
from kartshoppe.catalog.seed import CATEGORIES, seed_products

__all__ = ["CATEGORIES", "placeholder_svg", "product_svg", "seed_products"]
