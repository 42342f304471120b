"""The hot-read fast path answers only the queries it parses exactly as the full routes would."""

from kartshoppe.api.fastpath import parse_limit, parse_product_query
from kartshoppe.views.catalog import ProductQuery


def test_a_plain_products_query_is_understood() -> None:
    query = parse_product_query(b"category=Audio&q=wireless+buds&sort=price_asc&page=2&pageSize=12")
    assert query == ProductQuery("Audio", "wireless buds", "price_asc", 2, 12)


def test_a_brand_is_understood_and_numeric_filters_go_to_the_route() -> None:
    assert parse_product_query(b"brand=Tempo&q=hedphones") == ProductQuery(
        q="hedphones", brand="Tempo"
    )
    for routed in (b"minPrice=10", b"maxPrice=10", b"minRating=4", b"inStock=true", b"onSale=1"):
        assert parse_product_query(routed) is None, routed


def test_no_query_means_the_defaults() -> None:
    assert parse_product_query(b"") == ProductQuery()


def test_the_original_clients_search_and_limit_are_q_and_page_size() -> None:
    assert parse_product_query(b"search=headphones&limit=3") == ProductQuery(
        q="headphones", page_size=3
    )


def test_a_name_given_with_its_alias_falls_through_to_the_route() -> None:
    assert parse_product_query(b"q=lamp&search=lamp") is None
    assert parse_product_query(b"pageSize=5&limit=3") is None
    assert parse_product_query(b"pageSize=5&pageSize=6") is None


def test_anything_the_route_would_judge_falls_through() -> None:
    for refused in (
        b"pageSize=0",
        b"pageSize=101",
        b"page=-1",
        b"page=abc",
        b"sort=cheapest",
        b"q=",
        b"colour=red",
        b"page=1&page=2",
        b"q=" + b"x" * 201,
    ):
        assert parse_product_query(refused) is None, refused


def test_a_limit_is_understood_only_in_range() -> None:
    assert parse_limit(b"") == 8
    assert parse_limit(b"limit=20") == 20
    assert parse_limit(b"limit=0") is None
    assert parse_limit(b"limit=x") is None
    assert parse_limit(b"limit=5&x=1") is None
