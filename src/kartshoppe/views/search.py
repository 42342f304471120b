"""Typo-tolerant, relevance-ranked product search over name, brand, tags, category and description.

Every field is cut into lower-case words. A query word matches a product word exactly, as its
plural or singular, as its beginning (search as you type) or within a few typos (edit distance
with transpositions: one typo from 4 letters, two from 8), the description only by the first
three. A product is found when every query word matches one of its words; its score adds, per
query word, the best of (field weight x match quality), so a word in the name outranks the same
word in a description ("laptop" finds laptops before earbuds that pair with laptops).

The index is built once per catalog version and remembers what each query word matched, so a
search is a few dictionary lookups per product.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Final

from kartshoppe.events import Product

FIELD_WEIGHTS: Final = {"name": 4.0, "brand": 3.5, "tags": 2.5, "category": 2.0, "description": 1.0}
EXACT: Final = 1.0
INFLECTED: Final = 0.95
PREFIX: Final = 0.8
TYPO: Final = (0.0, 0.7, 0.55)
"""Match quality by number of typos."""
TYPO_PREFIX: Final = 0.5
"""A word being typed, with a typo in what is typed so far ("hedph" for "headphones")."""
RELATIVE_CUT: Final = 0.3
"""A result scores at least this share of the best one."""
FUZZY_FIELDS: Final = frozenset({"name", "brand", "tags", "category"})
STOPWORDS: Final = frozenset({"a", "an", "and", "for", "in", "of", "or", "the", "to", "with"})
WORD: Final = re.compile(r"[a-z0-9]+")
MAX_QUERY_WORDS: Final = 8
"""Words past this many are ignored: each new word costs a pass over the vocabulary."""
MAX_REMEMBERED: Final = 20_000
"""Query words whose matches are kept; past it the memory starts again (bounded by design)."""


def words(text: str) -> list[str]:
    """Lower-case words, accents dropped ("Café" is "cafe")."""
    folded = unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode()
    return WORD.findall(folded)


def query_words(query: str) -> list[str]:
    return [w for w in words(query) if w not in STOPWORDS][:MAX_QUERY_WORDS]


def allowed_typos(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours is one typo), capped at limit+1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


@cache
def bigrams(word: str) -> frozenset[str]:
    return frozenset(word[i : i + 2] for i in range(len(word) - 1))


def could_be_typo(typed: str, word: str) -> bool:
    """A cheap necessary condition for `match_quality`'s typo cases: one typo changes at most
    three letter pairs (a swap), so a word sharing fewer pairs with `typed` is out of reach."""
    limit = allowed_typos(typed)
    return limit > 0 and len(bigrams(typed) & bigrams(word)) >= len(typed) - 1 - 3 * limit


def match_quality(typed: str, word: str) -> float:
    """How well a query word matches a product word, 0 for not at all."""
    if typed == word:
        return EXACT
    if typed + "s" == word or word + "s" == typed or typed + "es" == word:
        return INFLECTED
    if len(typed) >= 2 and word.startswith(typed):
        return PREFIX
    limit = allowed_typos(typed)
    if len(word) < 4 or not could_be_typo(typed, word):
        return 0.0
    typos = edit_distance(typed, word, limit)
    if typos <= limit:
        return TYPO[typos]
    if len(word) > len(typed) and any(
        edit_distance(typed, word[:length], 1) <= 1 for length in (len(typed), len(typed) + 1)
    ):
        return TYPO_PREFIX
    return 0.0


def _fuzzy_ok(quality: float, field_name: str) -> bool:
    return field_name in FUZZY_FIELDS or quality >= INFLECTED


@dataclass
class SearchIndex:
    """The words of each product by field, and what each query word has matched so far."""

    products: Sequence[Product]
    fields: list[dict[str, frozenset[str]]] = field(init=False)
    vocabulary: frozenset[str] = field(init=False)
    _matches: dict[str, dict[str, float]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.fields = [
            {
                "name": frozenset(words(p.name)),
                "brand": frozenset(words(p.brand)),
                "tags": frozenset(w for tag in p.tags for w in words(tag)),
                "category": frozenset(words(p.category)),
                "description": frozenset(words(p.description)),
            }
            for p in self.products
        ]
        self.vocabulary = frozenset(w for f in self.fields for ws in f.values() for w in ws)

    def matches(self, typed: str) -> dict[str, float]:
        """Every indexed word `typed` matches, with the quality of the match."""
        found = self._matches.get(typed)
        if found is None:
            found = {}
            for word in self.vocabulary:
                quality = match_quality(typed, word)
                if quality > 0:
                    found[word] = quality
            if len(self._matches) >= MAX_REMEMBERED:
                self._matches.clear()
            self._matches[typed] = found
        return found

    def score(self, index: int, typed_words: Iterable[str]) -> float:
        """The product's relevance to every query word; 0 when one of them is not found."""
        total = 0.0
        product_fields = self.fields[index]
        for typed in typed_words:
            matched = self.matches(typed)
            best = 0.0
            for field_name, field_words in product_fields.items():
                weight = FIELD_WEIGHTS[field_name]
                for word in field_words:
                    quality = matched.get(word, 0.0)
                    if quality and _fuzzy_ok(quality, field_name):
                        best = max(best, weight * quality)
            if best == 0.0:
                return 0.0
            total += best
        return total

    def search(self, query: str) -> dict[str, float]:
        """Product id to relevance, for the products every word of `query` finds well enough:
        far below the best match (a word only in a description, when others have it in the
        name) is not a result."""
        typed = query_words(query)
        scores: dict[str, float] = {}
        for index, product in enumerate(self.products):
            score = self.score(index, typed) if typed else 1.0
            if score > 0:
                scores[product.id] = score
        floor = max(scores.values(), default=0.0) * RELATIVE_CUT
        return {pid: score for pid, score in scores.items() if score >= floor}
