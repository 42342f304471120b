"""The demo catalog (its pictures are drawn by `kartshoppe.pictures`)."""

from kartshoppe.demo.seed import CATEGORIES, holds_seed, seed_products, seed_reviews, seed_shop

__all__ = ["CATEGORIES", "holds_seed", "seed_products", "seed_reviews", "seed_shop"]
