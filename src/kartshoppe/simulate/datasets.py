"""Real public interaction data that a registry package ships, read offline.

`ml-100k`: MovieLens 100K (GroupLens Research, 100,000 ratings by 943 users of 1,682 films,
September 1997 to April 1998), as shipped inside the `recbole` wheel on PyPI
(`recbole/dataset_example/ml-100k/`, RecBole is MIT-licensed; the data keeps GroupLens's terms:
research use, cite F. M. Harper and J. A. Konstan, "The MovieLens Datasets: History and
Context", ACM TiiS 5(4), 2015; see bench/DATASETS.md). Only the data files are read; recbole
itself is never imported, so `make eval-data` installs it without its dependencies.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Final


@dataclass(frozen=True, slots=True)
class Interaction:
    user: str
    item: str
    at: int
    """Epoch milliseconds."""


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    interactions: list[Interaction]
    """In time order (ties by user, then item: a fixed, reproducible order)."""
    titles: dict[str, str]
    categories: dict[str, str]


class DatasetUnavailable(Exception):
    """The package that ships the data is not installed."""


DATASETS: Final = ("ml-100k",)


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatasetUnavailable(
            f"the {package!r} package ships this data set: install it with `make eval-data`"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def load(name: str) -> Dataset:
    if name != "ml-100k":
        raise DatasetUnavailable(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    folder = _package_dir("recbole") / "dataset_example" / "ml-100k"
    interactions = []
    for line in (folder / "ml-100k.inter").read_text().splitlines()[1:]:
        user, item, _rating, seconds = line.split("\t")
        interactions.append(Interaction(f"u{user}", f"m{item}", int(float(seconds)) * 1000))
    interactions.sort(key=lambda i: (i.at, i.user, i.item))
    titles: dict[str, str] = {}
    categories: dict[str, str] = {}
    for line in (folder / "ml-100k.item").read_text(encoding="latin-1").splitlines()[1:]:
        item, title, _year, genres = [*line.split("\t"), "", "", ""][:4]
        titles[f"m{item}"] = title.strip() or f"film {item}"
        categories[f"m{item}"] = (genres.split() or ["Other"])[0]
    return Dataset(name, interactions, titles, categories)
