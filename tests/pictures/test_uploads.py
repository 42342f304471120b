"""An uploaded product image is re-encoded to clean WebP within the size limits, or refused with
a status, a stable code and a message naming what is wrong; SVG is always refused."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from kartshoppe.pictures.uploads import (
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    ImageStore,
    UploadRefused,
    reencode,
)

SCRIPTED_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def refusal(data: bytes, content_type: str = "") -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        reencode(data, content_type)
    assert caught.value.field == "image"
    assert caught.value.message
    return caught.value


def test_a_png_becomes_webp_keeping_its_size_and_transparency() -> None:
    png = encoded(Image.new("RGBA", (300, 200), (255, 0, 0, 128)), "PNG")
    result = reencode(png, "image/png")
    image = decoded(result.data)
    assert (image.format, image.size, result.source_format) == ("WEBP", (300, 200), "PNG")
    assert image.mode == "RGBA"
    pixel = image.getpixel((10, 10))
    assert isinstance(pixel, tuple)
    assert pixel[3] in range(120, 136)


def test_a_large_jpeg_is_scaled_down_turned_upright_and_stripped_of_metadata() -> None:
    photo = Image.new("RGB", (2400, 1200), "navy")
    exif = photo.getexif()
    exif[0x0112] = 6  # orientation: the camera was turned, the picture shows rotated 90°
    exif[0x010F] = "Camera maker"
    jpeg = encoded(photo, "JPEG", exif=exif.tobytes(), comment=b"secret")
    result = reencode(jpeg, "image/jpeg")
    image = decoded(result.data)
    assert image.size == (MAX_SIDE // 2, MAX_SIDE)  # upright: taller than wide
    assert not image.getexif()
    assert "comment" not in image.info and "exif" not in image.info


def test_the_type_is_told_by_the_content_not_the_claimed_type() -> None:
    gif = encoded(Image.new("P", (64, 64)), "GIF")
    assert decoded(reencode(gif, "image/png").data).format == "WEBP"


def test_an_animated_gif_keeps_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    gif = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    pixel = decoded(reencode(gif).data).convert("RGB").getpixel((5, 5))
    assert isinstance(pixel, tuple) and pixel[0] > 200 and pixel[2] < 60


@pytest.mark.parametrize("content_type", ["image/svg+xml", "image/png", ""])
def test_svg_is_refused_whatever_type_it_claims(content_type: str) -> None:
    refused = refusal(SCRIPTED_SVG, content_type)
    assert (refused.status, refused.code) == (415, "svg_refused")


def test_svg_without_a_prolog_is_recognised_too() -> None:
    assert refusal(b"  <svg onload='x()'></svg>").code == "svg_refused"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7 not an image", b"hello world", b"GIF89a but truncated", b"\x89PNG\r\n\x1a\n"],
)
def test_a_file_that_is_no_image_is_refused(data: bytes) -> None:
    refused = refusal(data, "image/png")
    assert refused.status in (400, 415)
    assert refused.code in ("unsupported_image", "invalid_image")


def test_a_truncated_png_is_refused_as_unreadable() -> None:
    png = encoded(Image.effect_noise((200, 200), 50).convert("RGB"), "PNG")
    refused = refusal(png[: len(png) // 2], "image/png")
    assert (refused.status, refused.code) == (400, "invalid_image")


def test_an_empty_file_is_refused() -> None:
    assert (refusal(b"").status, refusal(b"").code) == (400, "empty_image")


def test_a_file_over_the_byte_limit_is_refused_before_decoding() -> None:
    refused = refusal(b"\x89PNG" + b"\0" * MAX_UPLOAD_BYTES)
    assert (refused.status, refused.code) == (413, "image_too_large")


def test_an_image_of_too_many_pixels_is_refused_before_decoding() -> None:
    # 64 megapixels that compress to a few KB: decoding them is what the check prevents
    bomb = encoded(Image.new("1", (8000, 8000)), "PNG")
    assert len(bomb) < 100_000
    refused = refusal(bomb, "image/png")
    assert (refused.status, refused.code) == (413, "image_too_large")
    assert "8000x8000" in refused.message


def test_a_tiny_image_is_refused() -> None:
    refused = refusal(encoded(Image.new("RGB", (8, 8)), "PNG"))
    assert (refused.status, refused.code) == (422, "image_too_small")


def test_the_store_names_files_by_content_and_serves_only_its_own_names(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    data = reencode(encoded(Image.new("RGB", (64, 64), "green"), "PNG")).data
    name = store.put(data)
    assert store.put(data) == name
    assert name.endswith(".webp") and len(name) == 37
    assert store.get(name) == data
    assert [p.name for p in (tmp_path / "images").iterdir()] == [name]
    for bad in ("../secret.webp", name.upper(), name[:-5] + ".svg", "x.webp"):
        assert store.get(bad) is None
