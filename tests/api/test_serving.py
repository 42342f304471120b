"""Content negotiation and the API explorer's policy, as the serving layer decides them."""

import base64
import hashlib

from kartshoppe.api.serving import VariantCache, docs_csp, negotiate


def test_the_preferred_coding_wins_and_ties_go_to_the_fastest() -> None:
    assert negotiate("gzip, deflate, br, zstd") == "zstd"
    assert negotiate("gzip, deflate, br") == "br"
    assert negotiate("gzip;q=1.0, br;q=0.8") == "gzip"
    assert negotiate("deflate") is None
    assert negotiate("") is None


def test_a_refused_coding_is_never_chosen() -> None:
    assert negotiate("*;q=0") is None
    assert negotiate("*, zstd;q=0, br;q=0") == "gzip"
    assert negotiate("br;q=0", offered=("br",)) is None
    assert negotiate("gzip;q=abc") is None


def test_one_body_is_encoded_once_and_keeps_its_etag() -> None:
    cache = VariantCache(size=2)
    body = b'{"items": []}' * 200
    first = cache.of(body)
    assert cache.of(body) is first
    assert first.body("gzip") is first.body("gzip")
    assert len(first.body("zstd")) < len(body)
    assert cache.of(body + b" ").etag != first.etag


def test_the_explorer_page_allows_its_own_inline_script_only() -> None:
    script = b"const ui = SwaggerUIBundle({url: '/openapi.json'})"
    policy = docs_csp(b"<html><script>" + script + b"</script></html>").decode()
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
