"""Which illustration shows a product: a pure function of its category, name and tags.

The table below maps product words to an `Illustration`: a main icon of the product itself,
sometimes with a small badge icon that says what kind it is (a book with a rocket is science
fiction) or a colour shift (a denim jacket is the coat in blue). Icons are named
`<iconify set>:<icon>`; `scripts/extract_illustrations.py` copies exactly the icons named here
from the npm packages into `illustrations.json`.

The name decides first, then the tags, then the category; the first rule of the table whose
words all appear wins, so the table lists a product's own noun before the materials and
flavours that also appear in names ("Coffee Kettle" is a kettle, "Olive" chinos are trousers).

A colour the name gives the product ("Leather Sneakers Black", "Chino Trousers Relaxed Olive")
is the colour its icon is drawn in (`COLOURS`), unless the word belongs to the phrase that
chose the icon ("Olive Oil" is not olive-coloured oil), to the brand ("Blue Hill Farm") or to a
phrase that names something else ("Warm White" lights).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

FLUENT: Final = "fluent-emoji-flat"
OPENMOJI: Final = "openmoji"


@dataclass(frozen=True, slots=True)
class Illustration:
    """A product picture's composition: what it is drawn from, not the drawing."""

    icon: str
    badge: str | None = None
    hue: int = 0
    """Degrees the main icon's colours are rotated by (a blue denim jacket from the tan coat)."""
    stretch: float = 1.0
    """How much wider than tall the main icon is drawn (a tablet from the phone)."""
    tint: str | None = None
    """The product's colour (`#rrggbb`) the main icon is drawn in, keeping its outlines and
    highlights; it takes the place of `hue`."""


def _f(name: str) -> str:
    return f"{FLUENT}:{name}"


def _o(name: str) -> str:
    return f"{OPENMOJI}:{name}"


def _p(icon: str, badge: str | None = None, hue: int = 0, stretch: float = 1.0) -> Illustration:
    return Illustration(icon, badge, hue, stretch)


Rule = tuple[tuple[str, ...], Illustration]
"""Words that must all appear (each may be a phrase), and the picture they give."""

RULES: Final[tuple[Rule, ...]] = (
    # --- electronics and computers
    (("gaming laptop",), _p(_f("laptop"), _f("video-game"))),
    (("laptop",), _p(_f("laptop"))),
    (("notebook computer",), _p(_f("laptop"))),
    (("smartwatch",), _p(_f("watch"), _f("red-heart"))),
    (("smart watch",), _p(_f("watch"), _f("red-heart"))),
    (("tablet",), _p(_f("mobile-phone"), stretch=1.45)),
    (("ipad",), _p(_f("mobile-phone"), stretch=1.45)),
    (("smartphone",), _p(_f("mobile-phone"))),
    (("phone",), _p(_f("mobile-phone"))),
    (("action camera",), _p(_f("camera"), _f("droplet"))),
    (("video camera",), _p(_f("video-camera"))),
    (("camcorder",), _p(_f("video-camera"))),
    (("camera",), _p(_f("camera"))),
    (("power bank",), _p(_f("battery"), _f("high-voltage"))),
    (("battery",), _p(_f("battery"))),
    (("charger",), _p(_f("electric-plug"), _f("high-voltage"))),
    (("streaming stick",), _p(_f("television"), _f("clapper-board"))),
    (("soundbar",), _p(_f("television"), _f("speaker-high-volume"))),
    (("television",), _p(_f("television"))),
    (("tv",), _p(_f("television"))),
    (("smart speaker",), _p(_f("speaker-high-volume"), _f("speech-balloon"))),
    (("bluetooth speaker",), _p(_f("radio"))),
    (("radio",), _p(_f("radio"))),
    (("speaker",), _p(_f("speaker-high-volume"))),
    (("keyboard",), _p(_f("keyboard"))),
    (("mouse",), _p(_f("computer-mouse"))),
    (("monitor",), _p(_f("desktop-computer"))),
    (("desktop",), _p(_f("desktop-computer"))),
    (("computer",), _p(_f("desktop-computer"))),
    (("ssd",), _p(_f("computer-disk"))),
    (("hard drive",), _p(_f("computer-disk"))),
    (("docking station",), _p(_f("electric-plug"), _f("laptop"))),
    (("dock",), _p(_f("electric-plug"), _f("laptop"))),
    (("printer",), _p(_f("printer"))),
    (("drone",), _p(_o("drone"))),
    (("vr headset",), _p(_o("vr-headset"))),
    (("game console",), _p(_f("video-game"))),
    (("controller",), _p(_f("video-game"))),
    (("joystick",), _p(_f("joystick"))),
    # --- audio
    (("earbuds",), _p(_f("ear"), _f("musical-notes"))),
    (("earphones",), _p(_f("ear"), _f("musical-notes"))),
    (("headphones",), _p(_f("headphone"))),
    (("headphone",), _p(_f("headphone"))),
    (("headset",), _p(_f("headphone"))),
    (("turntable",), _p(_f("optical-disk"), _f("musical-note"))),
    (("record player",), _p(_f("optical-disk"), _f("musical-note"))),
    (("microphone",), _p(_f("studio-microphone"))),
    (("guitar",), _p(_f("guitar"))),
    (("violin",), _p(_f("violin"))),
    (("drum",), _p(_f("drum"))),
    (("saxophone",), _p(_f("saxophone"))),
    (("trumpet",), _p(_f("trumpet"))),
    (("piano",), _p(_f("musical-keyboard"))),
    # --- home and kitchen
    (("skillet",), _p(_f("cooking"))),
    (("frying pan",), _p(_f("cooking"))),
    (("wok",), _p(_f("shallow-pan-of-food"))),
    (("espresso machine",), _p(_o("espresso-machine"))),
    (("coffee machine",), _p(_o("espresso-machine"))),
    (("coffee maker",), _p(_o("drip-coffee-maker"))),
    (("french press",), _p(_o("french-press"))),
    (("kettle",), _p(_f("teapot"), _f("hot-beverage"))),
    (("teapot",), _p(_f("teapot"))),
    (("knife",), _p(_f("kitchen-knife"))),
    (("knives",), _p(_f("kitchen-knife"))),
    (("air fryer",), _p(_f("french-fries"), _f("dashing-away"))),
    (("robot vacuum",), _p(_f("broom"), _f("robot"))),
    (("vacuum",), _p(_f("broom"), _f("high-voltage"))),
    (("broom",), _p(_f("broom"))),
    (("washing machine",), _p(_o("washing-machine"))),
    (("raised garden bed",), _p(_f("wood"), _f("seedling"))),
    (("garden bed",), _p(_f("wood"), _f("seedling"))),
    (("duvet",), _p(_f("bed"))),
    (("bedding",), _p(_f("bed"))),
    (("bed",), _p(_f("bed"))),
    (("mug",), _p(_f("hot-beverage"))),
    (("candle",), _p(_f("candle"))),
    (("lamp",), _p(_o("desk-lamp"))),
    (("chair",), _p(_f("chair"))),
    (("sofa",), _p(_f("couch-and-lamp"))),
    (("couch",), _p(_f("couch-and-lamp"))),
    (("mirror",), _p(_f("mirror"))),
    (("toothbrush",), _p(_f("toothbrush"))),
    (("soap",), _p(_f("soap"))),
    (("sponge",), _p(_f("sponge"))),
    (("bucket",), _p(_f("bucket"))),
    (("spoon",), _p(_f("spoon"))),
    (("chopsticks",), _p(_f("chopsticks"))),
    (("scissors",), _p(_f("scissors"))),
    # --- fashion
    (("denim jacket",), _p(_f("coat"), hue=170)),
    (("parka",), _p(_f("coat"), _f("umbrella-with-rain-drops"), hue=60)),
    (("raincoat",), _p(_f("coat"), _f("umbrella-with-rain-drops"), hue=60)),
    (("jacket",), _p(_f("coat"), hue=170)),
    (("coat",), _p(_f("coat"))),
    (("sweater",), _p(_f("t-shirt"), _f("yarn"), hue=150)),
    (("jumper",), _p(_f("t-shirt"), _f("yarn"), hue=150)),
    (("hoodie",), _p(_f("t-shirt"), hue=150)),
    (("t-shirt",), _p(_f("t-shirt"))),
    (("shirt",), _p(_f("t-shirt"))),
    (("jeans",), _p(_f("jeans"))),
    (("trousers",), _p(_f("jeans"), hue=200)),
    (("chinos",), _p(_f("jeans"), hue=200)),
    (("chino",), _p(_f("jeans"), hue=200)),
    (("pants",), _p(_f("jeans"), hue=200)),
    (("shorts",), _p(_f("shorts"))),
    (("dress",), _p(_f("dress"))),
    (("skirt",), _p(_f("dress"))),
    (("belt",), _p(_f("curly-loop"), hue=270)),
    (("tie",), _p(_f("necktie"))),
    (("scarf",), _p(_f("scarf"))),
    (("scarves",), _p(_f("scarf"))),
    (("gloves",), _p(_f("gloves"))),
    (("socks",), _p(_f("socks"))),
    (("cap",), _p(_f("billed-cap"))),
    (("hat",), _p(_f("womans-hat"))),
    (("swimsuit",), _p(_f("one-piece-swimsuit"))),
    (("bikini",), _p(_f("bikini"))),
    (("kimono",), _p(_f("kimono"))),
    (("handbag",), _p(_f("handbag"))),
    (("purse",), _p(_f("purse"))),
    (("backpack",), _p(_f("backpack"))),
    (("suitcase",), _p(_f("luggage"))),
    (("luggage",), _p(_f("luggage"))),
    (("umbrella",), _p(_f("umbrella"))),
    (("sunglasses",), _p(_f("sunglasses"))),
    (("glasses",), _p(_f("glasses"))),
    (("ring",), _p(_f("ring"))),
    (("necklace",), _p(_f("gem-stone"))),
    (("watch",), _p(_f("watch"))),
    # --- shoes
    (("running shoes",), _p(_f("running-shoe"))),
    (("running shoe",), _p(_f("running-shoe"))),
    (("trainers",), _p(_f("running-shoe"))),
    (("sneakers",), _p(_o("sneaker"))),
    (("sneaker",), _p(_o("sneaker"))),
    (("hiking boots",), _p(_f("hiking-boot"))),
    (("chelsea boots",), _p(_f("womans-boot"), hue=25)),
    (("boots",), _p(_f("hiking-boot"))),
    (("boot",), _p(_f("hiking-boot"))),
    (("slide sandals",), _p(_o("adilette"))),
    (("slides",), _p(_o("adilette"))),
    (("flip flops",), _p(_f("thong-sandal"))),
    (("sandals",), _p(_f("womans-sandal"))),
    (("heels",), _p(_f("high-heeled-shoe"))),
    (("loafers",), _p(_f("mans-shoe"))),
    (("shoes",), _p(_f("mans-shoe"))),
    # --- sports and outdoors
    (("yoga mat",), _p(_f("person-in-lotus-position"))),
    (("yoga",), _p(_f("person-in-lotus-position"))),
    (("dumbbells",), _p(_f("person-lifting-weights"))),
    (("dumbbell",), _p(_f("person-lifting-weights"))),
    (("kettlebell",), _p(_f("person-lifting-weights"))),
    (("tent",), _p(_f("tent"))),
    (("sleeping bag",), _p(_f("camping"))),
    (("water bottle",), _p(_o("plastic-bottle"), _f("droplet"))),
    (("bottle",), _p(_o("plastic-bottle"))),
    (("trekking poles",), _p(_f("skis"), _f("snow-capped-mountain"))),
    (("hiking poles",), _p(_f("skis"), _f("snow-capped-mountain"))),
    (("skis",), _p(_f("skis"))),
    (("helmet",), _p(_o("bicycle-helmet"))),
    (("bicycle",), _p(_f("bicycle"))),
    (("bike",), _p(_f("bicycle"))),
    (("skateboard",), _p(_f("skateboard"))),
    (("roller skates",), _p(_f("roller-skate"))),
    (("football",), _p(_f("soccer-ball"))),
    (("soccer",), _p(_f("soccer-ball"))),
    (("basketball",), _p(_f("basketball"))),
    (("tennis",), _p(_f("tennis"))),
    (("fishing",), _p(_f("fishing-pole"))),
    (("boxing",), _p(_f("boxing-glove"))),
    (("kite",), _p(_f("kite"))),
    # --- books
    (("cookbook",), _p(_f("open-book"), _f("fork-and-knife-with-plate"))),
    (("field guide", "bird"), _p(_f("green-book"), _f("bird"))),
    (("field guide", "wildflower"), _p(_f("green-book"), _f("tulip"))),
    (("field guide", "tree"), _p(_f("green-book"), _f("deciduous-tree"))),
    (("field guide",), _p(_f("green-book"), _f("herb"))),
    (("mystery",), _p(_f("closed-book"), _f("magnifying-glass-tilted-left"))),
    (("programming",), _p(_f("blue-book"), _f("laptop"))),
    (("science fiction",), _p(_f("orange-book"), _f("rocket"))),
    (("sci-fi",), _p(_f("orange-book"), _f("rocket"))),
    (("notebook",), _p(_f("notebook"))),
    (("novel",), _p(_f("closed-book"))),
    (("book",), _p(_f("books"))),
    # --- toys and games
    (("building blocks",), _p(_f("brick"), hue=200)),
    (("blocks",), _p(_f("brick"), hue=200)),
    (("board game",), _p(_f("chess-pawn"), _f("game-die"))),
    (("chess",), _p(_f("chess-pawn"))),
    (("dice",), _p(_f("game-die"))),
    (("remote control car",), _p(_f("racing-car"), _f("joystick"))),
    (("rc car",), _p(_f("racing-car"), _f("joystick"))),
    (("toy car",), _p(_f("racing-car"))),
    (("jigsaw",), _p(_f("puzzle-piece"))),
    (("puzzle",), _p(_f("puzzle-piece"))),
    (("plush",), _p(_f("teddy-bear"))),
    (("teddy",), _p(_f("teddy-bear"))),
    (("coding robot",), _p(_f("robot"), _f("laptop"))),
    (("robot",), _p(_f("robot"))),
    (("doll",), _p(_f("nesting-dolls"))),
    (("balloon",), _p(_f("balloon"))),
    (("yo-yo",), _p(_f("yo-yo"))),
    # --- beauty
    (("vitamin c", "serum"), _p(_f("test-tube"), _f("tangerine"))),
    (("serum",), _p(_f("test-tube"))),
    (("moisturiser",), _p(_f("lotion-bottle"), _f("droplet"))),
    (("moisturizer",), _p(_f("lotion-bottle"), _f("droplet"))),
    (("sunscreen",), _p(_f("lotion-bottle"), _f("sun"))),
    (("lotion",), _p(_f("lotion-bottle"))),
    (("shampoo",), _p(_f("lotion-bottle"), _f("bubbles"))),
    (("lipstick",), _p(_f("lipstick"))),
    (("nail polish",), _p(_f("nail-polish"))),
    (("parfum",), _p(_f("rose"), _f("sparkles"))),
    (("perfume",), _p(_f("rose"), _f("sparkles"))),
    (("fragrance",), _p(_f("rose"), _f("sparkles"))),
    (("hair dryer",), _p(_f("person-getting-haircut"), _f("dashing-away"))),
    (("razor",), _p(_f("razor"))),
    # --- garden
    (("hedge trimmer",), _p(_f("scissors"), _f("evergreen-tree"))),
    (("lawn mower",), _p(_o("lawn-mower"))),
    (("plant pot",), _p(_f("potted-plant"))),
    (("planter",), _p(_f("potted-plant"))),
    (("hose",), _p(_f("curly-loop"), _f("droplet"))),
    (("seed kit",), _p(_f("seedling"), _f("herb"))),
    (("seeds",), _p(_f("seedling"))),
    (("path lights",), _p(_f("light-bulb"), _f("sun"))),
    (("solar",), _p(_f("light-bulb"), _f("sun"))),
    (("shovel",), _p(_o("shovel"))),
    (("trowel",), _p(_o("trowel"))),
    (("gardening gloves",), _p(_o("gardening-gloves"))),
    (("cactus",), _p(_f("cactus"))),
    (("rose",), _p(_f("rose"))),
    (("tulip",), _p(_f("tulip"))),
    (("sunflower",), _p(_f("sunflower"))),
    (("tree",), _p(_f("deciduous-tree"))),
    (("plant",), _p(_f("potted-plant"))),
    (("light bulb",), _p(_f("light-bulb"))),
    (("flashlight",), _p(_f("flashlight"))),
    (("torch",), _p(_f("flashlight"))),
    # --- tools
    (("toolbox",), _p(_f("toolbox"))),
    (("hammer",), _p(_f("hammer"))),
    (("wrench",), _p(_f("wrench"))),
    (("screwdriver",), _p(_f("screwdriver"))),
    (("saw",), _p(_f("carpentry-saw"))),
    (("axe",), _p(_f("axe"))),
    (("ladder",), _p(_f("ladder"))),
    # --- grocery
    (("coffee beans",), _p(_o("roasted-coffee-bean"), _f("hot-beverage"))),
    (("olive oil",), _p(_f("olive"), _f("droplet"))),
    (("chocolate",), _p(_f("chocolate-bar"))),
    (("granola",), _p(_f("bowl-with-spoon"))),
    (("cereal",), _p(_f("bowl-with-spoon"))),
    (("muesli",), _p(_f("bowl-with-spoon"))),
    (("honey",), _p(_f("honey-pot"))),
    (("tea",), _p(_f("teacup-without-handle"))),
    (("coffee",), _p(_f("hot-beverage"))),
    (("wine",), _p(_f("wine-glass"))),
    (("beer",), _p(_f("beer-mug"))),
    (("milk",), _p(_f("glass-of-milk"))),
    (("cookies",), _p(_f("cookie"))),
    (("cake",), _p(_f("shortcake"))),
    (("candy",), _p(_f("candy"))),
    (("pasta",), _p(_f("spaghetti"))),
    (("rice",), _p(_f("cooked-rice"))),
    (("eggs",), _p(_f("egg"))),
    (("salt",), _p(_f("salt"))),
    (("butter",), _p(_f("butter"))),
    (("nuts",), _p(_f("peanuts"))),
    (("cheese",), _p(_f("cheese-wedge"))),
    (("bread",), _p(_f("bread"))),
    (("pizza",), _p(_f("pizza"))),
    (("apple",), _p(_f("red-apple"))),
    (("banana",), _p(_f("banana"))),
    (("avocado",), _p(_f("avocado"))),
    (("tomato",), _p(_f("tomato"))),
    (("olive",), _p(_f("olive"))),
    # --- gifts and pets
    (("gift",), _p(_f("wrapped-gift"))),
    (("dog",), _p(_f("bone"), _f("paw-prints"))),
    (("cat",), _p(_f("cat"))),
)

COLOURS: Final[tuple[tuple[str, str | None], ...]] = (
    # phrases with a colour word that say something else: checked first
    ("warm white", None),
    ("green tea", None),
    ("black tea", None),
    ("salad green", None),
    ("white tea", None),
    # colours, each phrase as a whole word
    ("black", "#2b2b2e"),
    ("white", "#e2e0da"),
    ("charcoal", "#44474d"),
    ("grey", "#9a9ea6"),
    ("gray", "#9a9ea6"),
    ("silver", "#c0c4cc"),
    ("navy", "#1f2f5c"),
    ("blue", "#2f6fb8"),
    ("teal", "#1f8a8a"),
    ("turquoise", "#30b5b0"),
    ("mint", "#9ed9bf"),
    ("sage", "#9caf88"),
    ("olive", "#6b6b2e"),
    ("forest", "#2e5e3a"),
    ("green", "#2e8b57"),
    ("yellow", "#f2c230"),
    ("gold", "#c9a227"),
    ("orange", "#ef7d22"),
    ("coral", "#f07f6a"),
    ("red", "#c62828"),
    ("ruby", "#a3123a"),
    ("burgundy", "#7a1f35"),
    ("maroon", "#6e1f2b"),
    ("rosewood", "#9e4a4f"),
    ("pink", "#e889b0"),
    ("nude", "#d9a89a"),
    ("lavender", "#b7a3d9"),
    ("purple", "#7b4fa8"),
    ("brown", "#7a4a2a"),
    ("tobacco", "#8a5a2b"),
    ("tan", "#c89b68"),
    ("khaki", "#c3b091"),
    ("sand", "#d8c29d"),
    ("beige", "#e3d5b8"),
    ("oatmeal", "#d9ccb4"),
    ("cream", "#e9dfc3"),
    ("ivory", "#e8e3cf"),
)
"""What colour a phrase in a product's name gives it; the first phrase found wins."""

CATEGORY_PICTURES: Final[dict[str, Illustration]] = {
    "Electronics": _p(_f("electric-plug")),
    "Computers": _p(_f("floppy-disk")),
    "Audio": _p(_f("musical-notes")),
    "Home & Kitchen": _p(_f("house")),
    "Fashion": _p(_f("womans-clothes")),
    "Shoes": _p(_f("flat-shoe")),
    "Sports & Outdoors": _p(_f("soccer-ball")),
    "Books": _p(_f("books")),
    "Toys & Games": _p(_f("yo-yo")),
    "Beauty": _p(_f("nail-polish")),
    "Garden": _p(_f("sunflower")),
    "Grocery": _p(_f("basket")),
}
"""What a product of a known category that no rule names is shown as."""

DEFAULT_PICTURE: Final = _p(_f("package"))


def _words(text: str) -> str:
    """Lower-case words, each singular in a rough way, padded so phrases match whole words."""
    words = re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", text.lower())
    return " " + " ".join(_singular(w) for w in words) + " "


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _first_rule(*texts: str) -> Rule | None:
    """The first rule whose words all appear in one of `texts` (a phrase never spans two)."""
    candidates = [_words(text) for text in texts]
    for rule in RULES:
        if any(all(_words(p) in words for p in rule[0]) for words in candidates):
            return rule
    return None


def colour_of(name: str, taken: Iterable[str] = ()) -> str | None:
    """The colour `name` gives its product, if any; words of the phrases in `taken` (those that
    chose its icon, its brand) name the product, not its colour."""
    words = free = _words(name)
    for phrase in taken:
        free = free.replace(_words(phrase), " ")
    for phrase, colour in COLOURS:
        if _words(phrase) in (free if colour else words):
            return colour
    return None


def illustration_for(
    category: str, name: str, tags: Iterable[str] = (), brand: str = ""
) -> Illustration:
    """The picture of a product with this category, name and tags (see the module docstring);
    its brand's words are never its colour ("Blue Hill Farm" honey)."""
    named = _first_rule(name)
    picture = (
        _picture(named)
        or _picture(_first_rule(*tags))
        or CATEGORY_PICTURES.get(category.strip())
        or _picture(_first_rule(category))
        or DEFAULT_PICTURE
    )
    tint = colour_of(name, (*(named[0] if named is not None else ()), brand))
    return picture if tint is None else replace(picture, hue=0, tint=tint)


def _picture(rule: Rule | None) -> Illustration | None:
    return None if rule is None else rule[1]


def icons_used() -> frozenset[str]:
    """Every icon some picture is composed of: what `illustrations.json` must hold."""
    pictures = [p for _, p in RULES] + [*CATEGORY_PICTURES.values(), DEFAULT_PICTURE]
    return frozenset(i for p in pictures for i in (p.icon, p.badge) if i is not None)
