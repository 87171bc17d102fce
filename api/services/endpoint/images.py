"""The image of one call, checked before it costs anything.

Pillow reads only the header on `open`, so the pixel count is known before any pixel is
decoded: a small file claiming a huge image (a decompression bomb) is refused unread.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

from api.errors import PayloadTooLarge, Unprocessable

if TYPE_CHECKING:
    from PIL import Image


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """The picture in `data`, decoded, in RGB.

    Unprocessable `bad_image` when the bytes are not a whole image Pillow can read;
    PayloadTooLarge `image_too_large` above `max_pixels` (before decoding a pixel).
    """
    from PIL import Image

    if not data:
        raise Unprocessable("The image is empty", code="bad_image")
    too_large = PayloadTooLarge(
        f"Images are limited to {max_pixels} pixels", code="image_too_large"
    )
    with warnings.catch_warnings():
        # Our own limit decides; Pillow's bomb warning (above 89 Mpx) would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise too_large from None
        except Exception as exc:  # noqa: BLE001
            # Whatever stops Pillow from reading a header (UnidentifiedImageError, OSError,
            # a plugin's own error: Ultralytics, once imported in a process, wraps
            # Image.open and fails with ImportError on unknown bytes) means "not an image".
            raise Unprocessable(
                f"Not an image Pillow can read ({type(exc).__name__})", code="bad_image"
            ) from None
        width, height = image.size
        if width < 1 or height < 1:
            raise Unprocessable("The image has no pixels", code="bad_image")
        if width * height > max_pixels:
            raise PayloadTooLarge(
                f"The image has {width}x{height} pixels; the limit is {max_pixels}",
                code="image_too_large",
            )
        try:
            image.load()
            return image if image.mode == "RGB" else image.convert("RGB")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise Unprocessable(
                f"The image is truncated or corrupt ({type(exc).__name__})", code="bad_image"
            ) from None
