"""Typed signatures in a script font (Dancing Script, with DejaVu Sans for the Vietnamese letters it
lacks) and uploaded pictures (PNG/JPEG only, bounded, re-encoded without metadata)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from signing.signature_image import (
    MAX_UPLOAD,
    SignatureImageError,
    normalise_upload,
    script_font_path,
    typed_signature_png,
)


def picture(fmt: str, size: tuple[int, int] = (300, 100), **save: object) -> bytes:
    image = Image.new("RGB", size, "white")
    for x in range(20, 280):
        image.putpixel((x, 50 + (x % 7)), (0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def test_the_script_font_is_installed_and_used() -> None:
    font = script_font_path()
    assert font is not None and "DancingScript" in font.name  # .ci/run installs fonts-dancingscript
    png = typed_signature_png("Acme Lending")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.width > 2 * image.height  # a line of handwriting, cropped to the ink
    assert image.getextrema()[3][1] == 255  # some opaque ink


def test_vietnamese_names_keep_every_letter() -> None:
    plain = Image.open(io.BytesIO(typed_signature_png("Nguyen Van An")))
    marked = Image.open(io.BytesIO(typed_signature_png("Nguyễn Văn An")))
    assert marked.height >= plain.height  # the stacked marks are drawn (not dropped as .notdef boxes)
    assert typed_signature_png("Đỗ Thị Ơn") != typed_signature_png("Do Thi On")
    with pytest.raises(SignatureImageError):
        typed_signature_png("   ")


def test_png_and_jpeg_uploads_are_re_encoded_without_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Secret Phone Maker"  # Make
    jpeg = picture("JPEG", exif=exif.tobytes())
    assert b"Secret Phone Maker" in jpeg
    clean = normalise_upload(jpeg)
    assert clean.startswith(b"\x89PNG") and b"Secret Phone Maker" not in clean
    big = Image.open(io.BytesIO(normalise_upload(picture("PNG", (3000, 1000)))))
    assert big.size == (1200, 400)


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"),
    (b"GIF89a" + b"\0" * 100, "type"),
    (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "unreadable"),
    (b"\xff\xd8\xff" + b"\0" * (MAX_UPLOAD + 1), "too_large"),
])
def test_bad_uploads_are_refused(data: bytes, code: str) -> None:
    with pytest.raises(SignatureImageError) as err:
        normalise_upload(data)
    assert err.value.code == code


def test_a_picture_with_too_many_pixels_is_refused_before_decoding() -> None:
    bomb = picture("PNG", (5000, 5000), optimize=True)
    assert len(bomb) < MAX_UPLOAD
    with pytest.raises(SignatureImageError) as err:
        normalise_upload(bomb)
    assert err.value.code == "too_large"
