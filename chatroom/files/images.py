"""Images, checked from their bytes and drawn again: a new file without the metadata (EXIF: place, camera,
time) of the one uploaded, and a thumbnail. Runs on a worker thread: decoding is seconds of CPU at worst."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from chatroom.errors import Refused

# The formats shown inline. Anything else, an SVG (which can hold a script) among them, is a download.
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
# 24 megapixels (a good camera's photo) decode to about 100 MB: the most one upload may make a process hold.
MAX_PIXELS = 24_000_000
THUMBNAIL = 320  # pixels across, at most, either way
JPEG_QUALITY = 85


@dataclass(frozen=True, slots=True)
class DrawnImage:
    data: bytes
    thumbnail: bytes
    type: str  # image/jpeg or image/png
    width: int
    height: int


def drawn_again(data: bytes) -> DrawnImage | None:
    """The image re-encoded (JPEG stays JPEG, the others become PNG; an animation keeps its first frame),
    or None when the bytes are not an image of `FORMATS`. Refused for a damaged image or one over `MAX_PIXELS`,
    before it is decoded: a PNG that claims 50,000 by 50,000 pixels is a decompression bomb."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            return None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        if image.width * image.height > MAX_PIXELS:
            raise _too_many_pixels()
        try:
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (OSError, ValueError, SyntaxError) as exc:
            raise Refused("invalid_image", "This image is damaged or cut short; it was not sent.") from exc
    jpeg = image.format == "JPEG"
    upright = upright.convert("RGB" if jpeg else "RGBA") if upright.mode not in ("RGB", "L", "RGBA", "LA") else upright
    encoded = _encoded(upright, jpeg)
    small = upright.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    return DrawnImage(encoded, _encoded(small, jpeg), "image/jpeg" if jpeg else "image/png", *upright.size)


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size in pixels: the image's, shrunk (never grown) to fit `THUMBNAIL` either way."""
    scale = min(1.0, THUMBNAIL / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _encoded(image: Image.Image, jpeg: bool) -> bytes:
    out = io.BytesIO()
    if jpeg:
        image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def _too_many_pixels() -> Refused:
    return Refused("image_too_large", f"An image can have at most {MAX_PIXELS // 1_000_000} million pixels.")
