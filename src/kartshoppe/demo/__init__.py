"""The demo catalog and the product images generated from it."""

from kartshoppe.demo.images import placeholder_svg, product_svg
from kartshoppe.demo.seed import CATEGORIES, seed_products, seed_reviews

__all__ = ["CATEGORIES", "placeholder_svg", "product_svg", "seed_products", "seed_reviews"]
