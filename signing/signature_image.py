"""The signature image that goes into a signer's visible stamp, besides the drawn one (a PNG from
the signature pad): a **typed** name rendered in a script font, or an **uploaded** picture.

- Typed: Dancing Script (SIL Open Font License; Debian `fonts-dancingscript`, installed by
  `.ci/run`; `ACCORD_SIGNATURE_FONT` points at another font file). Dancing Script 1.2 has no
  Vietnamese letters with stacked or hooked marks (ễ, ầ, ộ, ơ, ư, đ…): each character it lacks is
  drawn in DejaVu Sans instead (the stamp's own font), so a Vietnamese name is never mangled. When
  no script font is installed, the whole name is drawn in DejaVu Sans.
- Uploaded: PNG or JPEG only (by content, not by name), at most `MAX_UPLOAD` bytes and
  `MAX_PIXELS` pixels, decoded and **re-encoded** as a fresh PNG of at most 1200×400 px: metadata
  (EXIF: location, device) and anything else hidden in the file are dropped, and a malformed file
  is refused instead of reaching the PDF.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

SCRIPT_FONTS = (
    Path("/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf"),
    Path("/usr/share/fonts/truetype/dancingscript/DancingScript-Regular.ttf"),
)
FALLBACK_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
)
INK = (27, 31, 36, 255)
MAX_UPLOAD = 512 * 1024
MAX_PIXELS = 12_000_000  # a phone photo; more is refused before decoding (decompression bombs)
MAX_SIZE = (1200, 400)
MAX_NAME = 80


class SignatureImageError(ValueError):
    """The picture cannot be used; `code` says why (type, size, unreadable)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def script_font_path() -> Path | None:
    override = os.environ.get("ACCORD_SIGNATURE_FONT")
    candidates = ((Path(override),) if override else ()) + SCRIPT_FONTS
    return next((p for p in candidates if p.is_file()), None)


@lru_cache(maxsize=4)
def _coverage(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@lru_cache(maxsize=8)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _fallback() -> Path:
    found = next((p for p in FALLBACK_FONTS if p.is_file()), None)
    if found is None:
        raise FileNotFoundError("DejaVu Sans is missing (Debian package fonts-dejavu-core)")
    return found


def typed_signature_png(name: str, height: int = 160) -> bytes:
    """The name as a handwritten-looking signature: a transparent PNG, cropped to the ink."""
    text = " ".join(name.split())[:MAX_NAME]
    if not text:
        raise SignatureImageError("empty", "type your name")
    script = script_font_path()
    fallback = _fallback()
    covered = _coverage(script) if script else frozenset()
    size = int(height * 0.6)
    runs: list[tuple[str, ImageFont.FreeTypeFont]] = []
    for ch in text:
        font = _font(script, size) if script and (ord(ch) in covered or ch == " ") else _font(fallback,
                                                                                             int(size * 0.8))
        if runs and runs[-1][1] is font:
            runs[-1] = (runs[-1][0] + ch, font)
        else:
            runs.append((ch, font))
    width = int(sum(font.getlength(run) for run, font in runs)) + height
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    x = height / 2
    baseline = height * 0.7
    for run, font in runs:
        draw.text((x, baseline), run, font=font, fill=INK, anchor="ls")
        x += font.getlength(run)
    box = image.getbbox()
    if box is None:
        raise SignatureImageError("empty", "type your name")
    pad = height // 10
    image = image.crop((max(box[0] - pad, 0), max(box[1] - pad, 0), min(box[2] + pad, width),
                        min(box[3] + pad, height)))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def normalise_upload(data: bytes) -> bytes:
    """An uploaded signature picture, checked and re-encoded as a clean PNG."""
    if not data:
        raise SignatureImageError("empty", "the file is empty")
    if len(data) > MAX_UPLOAD:
        raise SignatureImageError("too_large", "the picture is larger than 512 KB")
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise SignatureImageError("type", "only PNG and JPEG pictures are accepted")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG"]) as source:
            if source.width * source.height > MAX_PIXELS:
                raise SignatureImageError("too_large", "the picture has too many pixels")
            source.load()
            image = source.convert("RGBA")
    except SignatureImageError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise SignatureImageError("unreadable", "the picture could not be read") from exc
    image.thumbnail(MAX_SIZE)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
