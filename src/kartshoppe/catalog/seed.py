"""The demo catalog: a fixed, deterministic set of products the shop starts with.

Hand-written tables (brands, product kinds with price bands and variants) are combined by a
fixed-seed random generator, so every run yields the same ids, names, prices and stock. The
composition root launches these as `PRODUCT_LAUNCHED` events on an empty log.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from kartshoppe.events import Product

SEED: Final = 20251125
PRODUCTS_PER_CATEGORY: Final = 11
SOLD_OUT_COUNT: Final = 4
LOW_STOCK_COUNT: Final = 8
LOW_STOCK_MAX: Final = 9
"""Seeded low-stock products hold between 1 and this many units."""


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of product within a category: its noun, price band, variants, tags and blurb."""

    noun: str
    low: float
    high: float
    variants: tuple[str, ...]
    tags: tuple[str, ...]
    blurb: str


@dataclass(frozen=True, slots=True)
class CategorySpec:
    name: str
    brands: tuple[str, ...]
    kinds: tuple[Kind, ...]
    pitches: tuple[str, ...]
    """Closing sentences; `{brand}` is replaced by the product's brand."""


_CATEGORY_SPECS: Final[tuple[CategorySpec, ...]] = (
    CategorySpec(
        "Electronics",
        ("Voltix", "Nexora", "Lumina", "Quantra", "Arcwave"),
        (
            Kind(
                "Smartphone",
                299,
                1199,
                ("Lite", "128GB", "256GB", "Pro 512GB"),
                ("phone", "5g", "mobile"),
                "A 6.5-inch OLED smartphone with an all-day battery and a triple camera.",
            ),
            Kind(
                "Smartwatch",
                129,
                449,
                ("41mm", "45mm", "Sport", "Titanium"),
                ("wearable", "fitness", "gps"),
                "Tracks heart rate, sleep and workouts with built-in GPS.",
            ),
            Kind(
                "Tablet",
                199,
                899,
                ("10-inch", "11-inch Wi-Fi", "12.9-inch"),
                ("tablet", "mobile", "streaming"),
                "A slim tablet with a bright display for reading, drawing and streaming.",
            ),
            Kind(
                "4K Action Camera",
                149,
                499,
                ("Go", "Max", "Waterproof Kit"),
                ("camera", "4k", "outdoor"),
                "Shoots stabilised 4K video at 60 fps and is waterproof to 10 metres.",
            ),
            Kind(
                "Power Bank",
                19.99,
                89.99,
                ("10000mAh", "20000mAh", "MagSafe"),
                ("charger", "usb-c", "travel"),
                "Fast-charges phones and tablets over USB-C power delivery.",
            ),
            Kind(
                "Streaming Stick",
                29.99,
                79.99,
                ("HD", "4K", "4K Max"),
                ("tv", "streaming", "4k"),
                "Turns any TV into a smart TV with every major streaming app.",
            ),
            Kind(
                "Smart Speaker",
                39.99,
                199,
                ("Mini", "Gen 3", "Studio"),
                ("smart-home", "voice", "speaker"),
                "A voice-controlled speaker that runs your smart home.",
            ),
        ),
        (
            "Backed by {brand}'s two-year warranty.",
            "Ships with a USB-C cable and a quick-start guide.",
            "Updates arrive over the air for years to come.",
        ),
    ),
    CategorySpec(
        "Computers",
        ("Corelink", "Bytehaven", "Pixelforge", "Northbit", "Silica"),
        (
            Kind(
                "Ultrabook Laptop",
                699,
                1899,
                ("13-inch i5", "14-inch i7", "15-inch Ryzen 7"),
                ("laptop", "portable", "work"),
                "A featherweight laptop with a full-day battery and a backlit keyboard.",
            ),
            Kind(
                "Gaming Laptop",
                999,
                2499,
                ("RTX 4060", "RTX 4070", "RTX 4080"),
                ("laptop", "gaming", "rgb"),
                "A 165 Hz gaming laptop with a vapour-chamber cooling system.",
            ),
            Kind(
                "Mechanical Keyboard",
                59.99,
                199,
                ("Tenkeyless", "Full Size", "75% Wireless"),
                ("keyboard", "mechanical", "rgb"),
                "Hot-swappable switches, PBT keycaps and per-key lighting.",
            ),
            Kind(
                "Wireless Mouse",
                19.99,
                129,
                ("Travel", "Ergo", "Pro"),
                ("mouse", "wireless", "ergonomic"),
                "An ergonomic mouse with a silent click and a 70-day battery.",
            ),
            Kind(
                "27-inch Monitor",
                179,
                799,
                ("QHD", "165Hz", "4K IPS"),
                ("monitor", "display", "work"),
                "A colour-accurate panel with thin bezels and a height-adjustable stand.",
            ),
            Kind(
                "Portable SSD",
                59.99,
                249,
                ("1TB", "2TB", "4TB"),
                ("storage", "usb-c", "backup"),
                "Transfers up to 1,050 MB/s in a drop-resistant shell.",
            ),
            Kind(
                "USB-C Docking Station",
                79.99,
                279,
                ("7-in-1", "12-in-1", "Dual 4K"),
                ("dock", "usb-c", "work"),
                "Adds displays, Ethernet and card readers through a single cable.",
            ),
        ),
        (
            "Designed and tested by {brand} for everyday reliability.",
            "Works with Windows, macOS and Linux out of the box.",
            "Includes a three-year limited warranty.",
        ),
    ),
    CategorySpec(
        "Audio",
        ("Sonique", "Bassline", "Auralis", "Echoform", "Tempo"),
        (
            Kind(
                "Wireless Earbuds",
                39.99,
                279,
                ("Lite", "Pro", "ANC"),
                ("earbuds", "wireless", "anc"),
                "True wireless earbuds with active noise cancelling and a pocketable case.",
            ),
            Kind(
                "Over-Ear Headphones",
                79.99,
                449,
                ("Travel", "Studio", "ANC 2"),
                ("headphones", "anc", "wireless"),
                "Plush over-ear headphones with 40 hours of playback.",
            ),
            Kind(
                "Bluetooth Speaker",
                29.99,
                249,
                ("Mini", "Outdoor", "Boom"),
                ("speaker", "bluetooth", "waterproof"),
                "A rugged, waterproof speaker with deep bass.",
            ),
            Kind(
                "Soundbar",
                149,
                899,
                ("Compact", "2.1", "5.1 Atmos"),
                ("soundbar", "tv", "home-theater"),
                "Cinema sound from a single bar with a wireless subwoofer.",
            ),
            Kind(
                "Turntable",
                129,
                599,
                ("Classic", "Bluetooth", "Pro"),
                ("vinyl", "retro", "hifi"),
                "A belt-drive turntable with a built-in phono preamp.",
            ),
            Kind(
                "USB Microphone",
                49.99,
                199,
                ("Mini", "Podcast", "Stream"),
                ("microphone", "podcast", "usb"),
                "A cardioid condenser microphone for podcasts and streaming.",
            ),
        ),
        (
            "Tuned by {brand}'s acoustic engineers.",
            "Pairs in seconds with phones, tablets and laptops.",
            "Comes with a carrying pouch.",
        ),
    ),
    CategorySpec(
        "Home & Kitchen",
        ("Hearthline", "Copperleaf", "Kitchara", "Oakmere", "Brightnest"),
        (
            Kind(
                "Cast Iron Skillet",
                24.99,
                89.99,
                ("10-inch", "12-inch", "Deep 12-inch"),
                ("cookware", "cast-iron", "kitchen"),
                "A pre-seasoned skillet that goes from stovetop to oven.",
            ),
            Kind(
                "Espresso Machine",
                149,
                899,
                ("Compact", "Barista", "Dual Boiler"),
                ("coffee", "espresso", "kitchen"),
                "Pulls cafe-quality shots with a 15-bar pump and a steam wand.",
            ),
            Kind(
                "Chef's Knife",
                29.99,
                179,
                ("8-inch", "Santoku 7-inch", "Damascus 8-inch"),
                ("knife", "kitchen", "steel"),
                "A razor-sharp blade forged from high-carbon stainless steel.",
            ),
            Kind(
                "Air Fryer",
                59.99,
                229,
                ("4 Qt", "6 Qt", "Dual Basket"),
                ("air-fryer", "kitchen", "healthy"),
                "Crisps with up to 85% less oil and cleans up in the dishwasher.",
            ),
            Kind(
                "Robot Vacuum",
                179,
                799,
                ("S5", "S7 Mop", "Max Self-Empty"),
                ("vacuum", "smart-home", "cleaning"),
                "Maps your home and cleans on a schedule from an app.",
            ),
            Kind(
                "Linen Duvet Set",
                69.99,
                249,
                ("Full", "Queen", "King"),
                ("bedding", "linen", "bedroom"),
                "Stonewashed linen that gets softer with every wash.",
            ),
            Kind(
                "Pour-Over Coffee Kettle",
                29.99,
                149,
                ("Stovetop", "Matte Black", "Electric"),
                ("coffee", "kettle", "kitchen"),
                "A gooseneck kettle for a slow, precise pour.",
            ),
        ),
        (
            "Made by {brand} to last for years of daily use.",
            "Covered by a five-year warranty.",
            "Arrives in plastic-free packaging.",
        ),
    ),
    CategorySpec(
        "Fashion",
        ("Urbanweave", "Marlowe", "Northcoat", "Sable & Co", "Threadly"),
        (
            Kind(
                "Denim Jacket",
                49.99,
                179,
                ("Classic Blue", "Washed Black", "Sherpa Lined"),
                ("jacket", "denim", "casual"),
                "A timeless denim jacket cut from heavyweight cotton.",
            ),
            Kind(
                "Merino Crewneck Sweater",
                59.99,
                149,
                ("Navy", "Oatmeal", "Charcoal"),
                ("sweater", "wool", "knitwear"),
                "Fine merino wool that keeps you warm without the bulk.",
            ),
            Kind(
                "Organic Cotton T-Shirt",
                14.99,
                39.99,
                ("White", "Black", "Heather Grey", "Sage"),
                ("t-shirt", "cotton", "basics"),
                "A soft everyday tee in certified organic cotton.",
            ),
            Kind(
                "Chino Trousers",
                39.99,
                99.99,
                ("Slim Khaki", "Straight Navy", "Relaxed Olive"),
                ("trousers", "chino", "smart-casual"),
                "Stretch chinos that move with you from desk to dinner.",
            ),
            Kind(
                "Rain Parka",
                89.99,
                299,
                ("Forest", "Black", "Sand"),
                ("outerwear", "waterproof", "parka"),
                "A seam-sealed parka that keeps out wind and rain.",
            ),
            Kind(
                "Leather Belt",
                24.99,
                79.99,
                ("Brown", "Black", "Reversible"),
                ("belt", "leather", "accessories"),
                "Full-grain leather with a solid brass buckle.",
            ),
        ),
        (
            "Designed in {brand}'s studio and made in certified factories.",
            "Made from responsibly sourced materials.",
            "Free returns within 30 days.",
        ),
    ),
    CategorySpec(
        "Shoes",
        ("Stridewell", "Pacefoot", "Cobblestone", "Airlume", "Trekka"),
        (
            Kind(
                "Running Shoes",
                69.99,
                229,
                ("Road", "Trail", "Carbon Race"),
                ("running", "sneakers", "athletic"),
                "Responsive foam cushioning with a breathable knit upper.",
            ),
            Kind(
                "Leather Sneakers",
                59.99,
                189,
                ("White", "Black", "Tan"),
                ("sneakers", "leather", "casual"),
                "Clean, minimal sneakers in full-grain leather.",
            ),
            Kind(
                "Hiking Boots",
                89.99,
                279,
                ("Low", "Mid Waterproof", "Alpine"),
                ("boots", "hiking", "waterproof"),
                "Waterproof boots with a grippy lugged outsole.",
            ),
            Kind(
                "Chelsea Boots",
                79.99,
                249,
                ("Suede Tobacco", "Leather Black", "Leather Brown"),
                ("boots", "leather", "smart-casual"),
                "Slip-on Chelsea boots with elastic side panels.",
            ),
            Kind(
                "Slide Sandals",
                19.99,
                69.99,
                ("Black", "Sand", "Recovery"),
                ("sandals", "summer", "casual"),
                "Cushioned slides for the beach, the pool or recovery days.",
            ),
        ),
        (
            "Each pair is built on {brand}'s anatomical last.",
            "Runs true to size; half sizes available.",
            "Removable insoles fit custom orthotics.",
        ),
    ),
    CategorySpec(
        "Sports & Outdoors",
        ("Summitline", "Ridgeback", "Velocita", "Basecamp", "Tidewater"),
        (
            Kind(
                "Yoga Mat",
                19.99,
                119,
                ("Travel Fold", "6mm", "Cork"),
                ("yoga", "fitness", "mat"),
                "A non-slip mat with alignment lines and a carry strap.",
            ),
            Kind(
                "Adjustable Dumbbells",
                99.99,
                449,
                ("25 lb Pair", "52 lb Pair", "90 lb Pair"),
                ("weights", "fitness", "home-gym"),
                "Swap weights in seconds with a turn of the dial.",
            ),
            Kind(
                "2-Person Tent",
                89.99,
                449,
                ("Backpacking", "Ultralight", "4-Season"),
                ("camping", "tent", "outdoor"),
                "A freestanding tent that pitches in under five minutes.",
            ),
            Kind(
                "Insulated Water Bottle",
                14.99,
                49.99,
                ("Kids 500ml", "750ml", "1L"),
                ("bottle", "hydration", "outdoor"),
                "Keeps drinks cold for 24 hours or hot for 12.",
            ),
            Kind(
                "Trekking Poles",
                29.99,
                159,
                ("Aluminium", "Folding", "Carbon"),
                ("hiking", "outdoor", "trekking"),
                "Adjustable poles with cork grips and tungsten tips.",
            ),
            Kind(
                "Road Bike Helmet",
                49.99,
                249,
                ("Commuter", "MIPS", "Aero"),
                ("cycling", "helmet", "safety"),
                "A ventilated helmet with rotational-impact protection.",
            ),
        ),
        (
            "Field-tested by {brand} athletes.",
            "Built for every season and every trail.",
            "Backed by a lifetime guarantee against defects.",
        ),
    ),
    CategorySpec(
        "Books",
        ("Inkwell Press", "Lantern House", "Paperkite", "Meridian Books", "Quillstone"),
        (
            Kind(
                "Cookbook",
                14.99,
                44.99,
                ("Weeknight Suppers", "Plant-Based Kitchen", "The Art of Bread"),
                ("cookbook", "food", "hardcover"),
                "Over 120 tested recipes with step-by-step photography.",
            ),
            Kind(
                "Mystery Novel",
                9.99,
                27.99,
                ("The Silent Harbour", "Midnight at Larkspur", "A Quiet Poison"),
                ("fiction", "mystery", "paperback"),
                "A twisting whodunit set on a fog-bound island.",
            ),
            Kind(
                "Programming Guide",
                29.99,
                69.99,
                ("Python Patterns", "Streaming Systems", "Rust in Practice"),
                ("programming", "technology", "reference"),
                "A practical guide written by engineers who build these systems.",
            ),
            Kind(
                "Science Fiction Novel",
                9.99,
                29.99,
                ("Orbit of Ash", "The Glass Frontier", "Signal Lost"),
                ("fiction", "sci-fi", "paperback"),
                "An epic of first contact at the edge of the solar system.",
            ),
            Kind(
                "Illustrated Field Guide",
                19.99,
                49.99,
                ("Birds", "Wildflowers", "Trees"),
                ("nature", "reference", "illustrated"),
                "Hundreds of hand-painted plates with identification tips.",
            ),
        ),
        (
            "Published by {brand}.",
            "Available in hardcover with a ribbon marker.",
            "A bestseller and a staff pick.",
        ),
    ),
    CategorySpec(
        "Toys & Games",
        ("Playfort", "Kiddo Labs", "Brickwise", "Funhaus", "Meeple Works"),
        (
            Kind(
                "Building Blocks Set",
                19.99,
                149,
                ("Starter 300pc", "City 800pc", "Space Station 1500pc"),
                ("building", "stem", "kids"),
                "Compatible bricks for open-ended building.",
            ),
            Kind(
                "Strategy Board Game",
                24.99,
                79.99,
                ("Expansion", "Classic", "Deluxe"),
                ("board-game", "strategy", "family"),
                "A game of trading, building and clever planning for 2-5 players.",
            ),
            Kind(
                "Remote Control Car",
                29.99,
                179,
                ("Off-Road", "Drift", "Stunt"),
                ("rc", "outdoor", "kids"),
                "A 2.4 GHz RC car that reaches 30 km/h.",
            ),
            Kind(
                "Jigsaw Puzzle",
                12.99,
                39.99,
                ("500pc World Map", "1000pc Mountains", "1500pc Art"),
                ("puzzle", "family", "relaxing"),
                "Thick, precision-cut pieces with a poster for reference.",
            ),
            Kind(
                "Plush Bear",
                9.99,
                39.99,
                ("Small", "Large", "Giant"),
                ("plush", "kids", "gift"),
                "A huggable bear made from recycled fibres.",
            ),
            Kind(
                "Coding Robot Kit",
                49.99,
                199,
                ("Junior", "Explorer", "Advanced"),
                ("stem", "robotics", "coding"),
                "Teaches coding with a programmable robot and a free app.",
            ),
        ),
        (
            "Safety tested to EN 71 by {brand}.",
            "For ages 6 and up.",
            "A favourite gift for birthdays and holidays.",
        ),
    ),
    CategorySpec(
        "Beauty",
        ("Glowhaus", "Petal & Pine", "Lumiere", "Dermaclay", "Velvette"),
        (
            Kind(
                "Vitamin C Serum",
                14.99,
                69.99,
                ("Travel 15ml", "30ml", "50ml"),
                ("skincare", "serum", "vitamin-c"),
                "A brightening serum with 15% vitamin C and hyaluronic acid.",
            ),
            Kind(
                "Daily Moisturiser",
                12.99,
                59.99,
                ("SPF 30", "Oil-Free", "Rich"),
                ("skincare", "moisturiser", "spf"),
                "A lightweight moisturiser that hydrates for 24 hours.",
            ),
            Kind(
                "Matte Lipstick",
                8.99,
                34.99,
                ("Rosewood", "Ruby", "Nude Petal"),
                ("makeup", "lipstick", "matte"),
                "Long-wearing colour that never feels dry.",
            ),
            Kind(
                "Eau de Parfum",
                39.99,
                149,
                ("Amber Noir 50ml", "Citrus Bloom 50ml", "Cedar 100ml"),
                ("fragrance", "perfume", "gift"),
                "A layered fragrance with notes of bergamot, iris and cedar.",
            ),
            Kind(
                "Hair Dryer",
                49.99,
                399,
                ("Compact Travel", "Ionic", "Pro"),
                ("haircare", "styling", "tools"),
                "Dries fast at lower heat to protect your hair.",
            ),
        ),
        (
            "Cruelty-free and dermatologist tested by {brand}.",
            "Free from parabens and sulphates.",
            "Loved by reviewers for everyday use.",
        ),
    ),
    CategorySpec(
        "Garden",
        ("Greenthumb", "Fernwood", "Terrabloom", "Rootwise", "Meadowlark"),
        (
            Kind(
                "Raised Garden Bed",
                49.99,
                249,
                ("Cedar 4x4", "Metal 6x3", "Tiered"),
                ("garden", "planter", "vegetables"),
                "A sturdy raised bed for vegetables, herbs and flowers.",
            ),
            Kind(
                "Cordless Hedge Trimmer",
                79.99,
                249,
                ("18V", "36V", "Pole"),
                ("tools", "cordless", "garden"),
                "Laser-cut blades trim hedges cleanly on a single charge.",
            ),
            Kind(
                "Ceramic Plant Pot",
                12.99,
                69.99,
                ("Small", "Medium", "Large Glazed"),
                ("planter", "indoor", "decor"),
                "A glazed pot with a drainage hole and saucer.",
            ),
            Kind(
                "Expandable Garden Hose",
                19.99,
                69.99,
                ("50ft", "75ft", "100ft"),
                ("watering", "hose", "garden"),
                "A kink-free hose that shrinks back for easy storage.",
            ),
            Kind(
                "Herb Seed Kit",
                9.99,
                34.99,
                ("Kitchen Herbs", "Tea Garden", "Salad Greens"),
                ("seeds", "herbs", "organic"),
                "Organic heirloom seeds with biodegradable pots.",
            ),
            Kind(
                "Solar Path Lights",
                19.99,
                89.99,
                ("6-Pack", "Warm White 8-Pack", "12-Pack"),
                ("lighting", "solar", "outdoor"),
                "Charge by day and glow for up to 10 hours at night.",
            ),
        ),
        (
            "Weatherproof and backed by {brand}'s garden guarantee.",
            "Easy to assemble with no special tools.",
            "Made with sustainably sourced materials.",
        ),
    ),
    CategorySpec(
        "Grocery",
        ("Harvest Lane", "Good Pantry", "Golden Acre", "Wildroot", "Blue Hill Farm"),
        (
            Kind(
                "Single-Origin Coffee Beans",
                10.99,
                29.99,
                ("Colombia 500g", "Ethiopia 1kg", "Espresso Blend 1kg"),
                ("coffee", "beans", "organic"),
                "Small-batch roasted beans with notes of cocoa and berries.",
            ),
            Kind(
                "Extra Virgin Olive Oil",
                9.99,
                34.99,
                ("500ml", "1L", "Tin 3L"),
                ("olive-oil", "pantry", "cooking"),
                "Cold-pressed oil from a single harvest.",
            ),
            Kind(
                "Dark Chocolate Bar",
                2.99,
                8.99,
                ("70% Cacao", "85% Cacao", "Sea Salt"),
                ("chocolate", "snack", "vegan"),
                "Bean-to-bar chocolate with a clean, fruity finish.",
            ),
            Kind(
                "Green Tea",
                4.99,
                19.99,
                ("Jasmine 50 Bags", "Sencha 100g", "Matcha 30g"),
                ("tea", "organic", "drinks"),
                "Delicate leaves picked in the spring harvest.",
            ),
            Kind(
                "Granola",
                4.49,
                12.99,
                ("Honey Almond", "Cacao Crunch", "Berry Oat"),
                ("breakfast", "cereal", "snack"),
                "Slow-baked clusters of whole oats, nuts and seeds.",
            ),
            Kind(
                "Raw Wildflower Honey",
                6.99,
                24.99,
                ("340g", "500g", "1kg"),
                ("honey", "pantry", "natural"),
                "Unfiltered honey from local beekeepers.",
            ),
        ),
        (
            "Packed fresh by {brand}.",
            "Certified organic and fairly traded.",
            "Store in a cool, dry place.",
        ),
    ),
)

CATEGORIES: Final[tuple[str, ...]] = tuple(spec.name for spec in _CATEGORY_SPECS)


def _retail_price(value: float) -> Decimal:
    """A shop-style price near a generated value: x.99 under 100, then the next ...9.99."""
    if value < 100:
        return Decimal(int(value)) + Decimal("0.99")
    return Decimal(int(value) // 10 * 10) + Decimal("9.99")


def _name(brand: str, kind: Kind, variant: str) -> str:
    return f"{brand} {kind.noun} {variant}"


def _category_products(
    spec: CategorySpec, rng: random.Random
) -> list[tuple[str, str, Kind, str, Decimal]]:
    """Pick distinct (brand, kind, variant) combos: every kind at least once, then at random."""
    kinds = list(spec.kinds)
    picks: list[Kind] = kinds + [
        rng.choice(kinds) for _ in range(PRODUCTS_PER_CATEGORY - len(kinds))
    ]
    seen: set[str] = set()
    rows: list[tuple[str, str, Kind, str, Decimal]] = []
    for kind in picks:
        while True:
            brand = rng.choice(spec.brands)
            variant = rng.choice(kind.variants)
            name = _name(brand, kind, variant)
            if name not in seen:
                break
        seen.add(name)
        # variants are ordered roughly cheapest first, so later ones lean to the top of the band
        position = kind.variants.index(variant) / max(1, len(kind.variants) - 1)
        spread = kind.high - kind.low
        raw = kind.low + spread * (0.6 * position + 0.4 * rng.random())
        rows.append((spec.name, brand, kind, variant, _retail_price(raw)))
    return rows


def _description(brand: str, kind: Kind, spec: CategorySpec, rng: random.Random) -> str:
    sentences = [kind.blurb]
    for pitch in rng.sample(spec.pitches, rng.randint(1, 2)):
        sentences.append(pitch.format(brand=brand))
    return " ".join(sentences)


def _pick_indices(rng: random.Random, pool: list[int], count: int) -> set[int]:
    chosen = set(rng.sample(pool, count))
    pool[:] = [i for i in pool if i not in chosen]
    return chosen


def seed_products() -> list[Product]:
    """The demo catalog, identical on every call: `prod_001` ... in category order."""
    rng = random.Random(SEED)
    rows = [row for spec in _CATEGORY_SPECS for row in _category_products(spec, rng)]
    specs = {spec.name: spec for spec in _CATEGORY_SPECS}

    # one featured product per category, never sold out, so the home page always has stock
    featured = {
        index * PRODUCTS_PER_CATEGORY + rng.randrange(PRODUCTS_PER_CATEGORY)
        for index in range(len(_CATEGORY_SPECS))
    }
    pool = [i for i in range(len(rows)) if i not in featured]
    sold_out = _pick_indices(rng, pool, SOLD_OUT_COUNT)
    low_stock = _pick_indices(rng, pool, LOW_STOCK_COUNT)

    products: list[Product] = []
    for index, (category, brand, kind, variant, price) in enumerate(rows):
        product_id = f"prod_{index + 1:03d}"
        discounted = rng.random() < 0.3
        # a generated list price (the float only picks a number, which becomes x.99 exactly)
        original = _retail_price(float(price) / (1 - rng.choice((0.1, 0.15, 0.2, 0.25, 0.3))))
        if index in sold_out:
            stock = 0
        elif index in low_stock:
            stock = rng.randint(1, LOW_STOCK_MAX)
        else:
            stock = rng.randint(15, 500)
        rating = round(rng.triangular(3.0, 5.0, 4.5), 1)
        brand_tag = brand.lower().replace(" & ", "-").replace(" ", "-")
        products.append(
            Product(
                id=product_id,
                name=_name(brand, kind, variant),
                description=_description(brand, kind, specs[category], rng),
                category=category,
                price=price,
                original_price=original if discounted and original > price else price,
                stock=stock,
                rating=rating,
                review_count=min(20_000, int(rng.lognormvariate(4.5, 1.2))),
                tags=(*kind.tags, brand_tag),
                featured=index in featured,
                image_url=f"/images/products/{product_id}.svg",
            )
        )
    return products
