"""An operator's uploaded product image: checked, then re-encoded so only clean pixels are served.

Nothing of the uploaded file reaches a browser as it was sent: it is decoded by Pillow (PNG, JPEG,
WebP or GIF, told by its content, not by the name or type it claims), turned upright from its
EXIF orientation, scaled to fit `MAX_SIDE`, and written anew as WebP without any metadata (no
EXIF, no location, no comments). SVG is refused outright: a vector file can carry script, event
handlers and external references, and a raster upload serves every shop need.

Files are kept by the hash of their re-encoded bytes (`ImageStore`), so an upload is written once
however often it is sent, and a name can never be chosen by a client.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

MAX_UPLOAD_BYTES: Final = 5 * 1024 * 1024
MAX_SOURCE_PIXELS: Final = 40_000_000
"""Larger images are refused before they are decoded (a small file can decode to gigabytes)."""
MIN_SIDE: Final = 32
MAX_SIDE: Final = 1200
"""The longest side of a stored image, in pixels: sharp on a 2x screen at the page's 600 px."""
WEBP_QUALITY: Final = 85
ACCEPTED: Final = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
FIELD: Final = "image"
_STORED_NAME: Final = re.compile(r"[0-9a-f]{32}\.webp")
_SVG_START: Final = re.compile(rb"^\s*(<\?xml|<!--|<!doctype svg|<svg)", re.IGNORECASE)


class UploadRefused(Exception):
    """An upload that is not stored: `status` and `code` for the answer, `message` for people."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = FIELD


@dataclass(frozen=True, slots=True)
class Reencoded:
    data: bytes
    width: int
    height: int
    source_format: str


def _refuse_svg(data: bytes, content_type: str) -> None:
    if "svg" in content_type.lower() or _SVG_START.match(data[:512]):
        raise UploadRefused(
            415,
            "svg_refused",
            "SVG images are not accepted, as they can carry scripts: upload a PNG, JPEG or WebP",
        )


def reencode(data: bytes, content_type: str = "") -> Reencoded:
    """The upload as clean WebP, or `UploadRefused` saying what is wrong with it."""
    if not data:
        raise UploadRefused(400, "empty_image", "the image is empty: choose a file to upload")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(
            413, "image_too_large", f"the image is larger than {MAX_UPLOAD_BYTES // 2**20} MB"
        )
    _refuse_svg(data, content_type)
    # Pillow loads on the first upload, not with every server (it is an operator's tool)
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        # opening reads only the header: the size is checked before any pixel is decoded
        source = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
        fmt = source.format or ""
        width, height = source.size
        if width * height > MAX_SOURCE_PIXELS:
            raise UploadRefused(
                413,
                "image_too_large",
                f"the image is {width}x{height} pixels; at most "
                f"{MAX_SOURCE_PIXELS // 1_000_000} megapixels are accepted",
            )
        if min(width, height) < MIN_SIDE:
            raise UploadRefused(
                422,
                "image_too_small",
                f"the image is {width}x{height} pixels; at least {MIN_SIDE} a side",
            )
        source.seek(0)  # an animated GIF or WebP keeps its first frame
        upright = ImageOps.exif_transpose(source)
        alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        clean = upright.convert("RGBA" if alpha else "RGB")
        clean.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        clean.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    except UploadRefused:
        raise
    except Image.DecompressionBombError:
        raise UploadRefused(413, "image_too_large", "the image has too many pixels") from None
    except UnidentifiedImageError:
        raise UploadRefused(
            415, "unsupported_image", "the file is not a PNG, JPEG, WebP or GIF image"
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise UploadRefused(400, "invalid_image", f"the image cannot be read ({exc})") from None
    return Reencoded(out.getvalue(), clean.width, clean.height, fmt)


class ImageStore:
    """Re-encoded uploads on disk, named by the hash of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes) -> str:
        name = hashlib.sha256(data).hexdigest()[:32] + ".webp"
        path = self.root / name
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            # written aside then renamed, so a reader never sees half a file
            fd, tmp = tempfile.mkstemp(dir=self.root, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return name

    def get(self, name: str) -> bytes | None:
        if not _STORED_NAME.fullmatch(name):
            return None
        path = self.root / name
        return path.read_bytes() if path.is_file() else None
