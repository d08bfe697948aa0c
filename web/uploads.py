"""File uploads and signatures: read the request with limits, check what the bytes really are,
store them under their SHA-256 and hand the engine a file reference.

Limits are enforced while the body is read, not after: a file part stops being written once it
passes `ACCORD_MAX_UPLOAD_MB` (the rest is dropped and the field gets the message, the other
answers on the screen are kept: 422), and a body beyond a hard cap (five files' worth plus 2 MiB)
stops the read altogether (413). The type is the file's magic bytes checked against the field's
`accept`, never only its name or the browser's claim.

The answer is what the engine already takes for a file (`engine/answers.py` `_file`): a dict
that becomes a `DAFile` with `filename`, `mimetype`, `size`, `sha256` and `number` (the `upload`
row's id; docassemble's DAFile names its stored file by `number` too). A drawn signature is a PNG
data URL, a typed one the name as text; both are stored the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import os
import secrets
import struct
import zlib
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session as DB
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser
from starlette.requests import Request

from engine import Screen
from store.sessions import add_upload, session_uploads
from web.i18n import _
from web.options import WebOptions

FILE_TYPES = frozenset({"file", "files", "camera", "user", "environment", "microphone"})
STORED_TYPES = FILE_TYPES | {"signature"}
KEEP = "_keep:"  # hidden inputs naming uploads already given for a field (back, or after an error)
TYPED = "_typed:"  # the "type your name instead" input of a signature field
PNG_DATA_URL = "data:image/png;base64,"
MAX_SIGNATURE_PIXELS = 4096 * 4096

TOO_LARGE = _("This file is larger than {mb} MB. Choose a smaller file.")
BAD_TYPE = _("This file's content is not one of the accepted types ({accept}).")
BAD_SIGNATURE = _("The drawn signature could not be read. Draw it again, or type your name instead.")
EMPTY_SIGNATURE = _("The signature box is empty. Draw your signature, or type your name instead.")

# What the first bytes say the file is. Text has no signature: UTF-8 without NUL bytes is text/plain.
MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"PK\x03\x04", 0, "application/zip"),
)
ZIP_BASED = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ".odt": "application/vnd.oasis.opendocument.text"}


class BodyTooLarge(Exception):
    """The request body is beyond the hard cap (or not a well-formed form): nothing was parsed."""


@dataclass
class Received:
    answers: dict[str, Any] = field(default_factory=dict)  # key -> file reference(s) for engine.apply
    errors: dict[str, list[str]] = field(default_factory=dict)


# -- reading the body ---------------------------------------------------------------------------


class _LimitedMultiPartParser(MultiPartParser):
    """Starlette's parser, but a file part stops being written past `limit` bytes."""

    def __init__(self, request: Request, stream: AsyncGenerator[bytes, None], limit: int) -> None:
        super().__init__(request.headers, stream, max_files=50, max_fields=500)
        self.limit = limit
        self.sizes: dict[int, int] = {}
        self.oversized: set[str] = set()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._current_part
        if part.file is not None:
            seen = self.sizes.get(id(part), 0) + (end - start)
            self.sizes[id(part)] = seen
            if seen > self.limit:
                self.oversized.add(part.field_name)
                return
        super().on_part_data(data, start, end)


async def _capped(stream: AsyncGenerator[bytes, None], cap: int) -> AsyncGenerator[bytes, None]:
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > cap:
            raise BodyTooLarge()
        yield chunk


async def read_form(request: Request, max_file_bytes: int) -> tuple[FormData, frozenset[str]]:
    """The posted form and the names of file fields whose file passed the limit."""
    cap = 5 * max_file_bytes + 2 * 1024 * 1024
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > cap:
        raise BodyTooLarge()
    stream = _capped(request.stream(), cap)
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            parser = _LimitedMultiPartParser(request, stream, max_file_bytes)
            form = await parser.parse()
            return form, frozenset(parser.oversized)
        if content_type.startswith("application/x-www-form-urlencoded"):
            return await FormParser(request.headers, stream, max_fields=500).parse(), frozenset()
    except MultiPartException as exc:
        raise BodyTooLarge() from exc
    return FormData(), frozenset()


# -- what the bytes are -------------------------------------------------------------------------


def sniff(head: bytes, filename: str = "") -> str | None:
    """The MIME type the content shows, or None when it shows nothing known."""
    for magic, offset, mime in MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if mime == "image/webp" and not head.startswith(b"RIFF"):
                continue
            if mime == "application/zip":
                ext = os.path.splitext(filename.lower())[1]
                return ZIP_BASED.get(ext, mime)
            return mime
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of `head` is fine
            if exc.start < len(head) - 4:
                return None
        return "text/plain"
    return None


def acceptable(accept: str | None, mime: str | None) -> bool:
    """`accept` (".pdf, image/*, application/pdf") against the sniffed type; no accept: anything known
    or unknown is taken."""
    if not accept:
        return True
    if mime is None:
        return False
    for raw in accept.replace('"', "").split(","):
        rule = raw.strip().lower()
        if not rule:
            continue
        if rule.startswith("."):
            rule = ZIP_BASED.get(rule) or mimetypes.types_map.get(rule, "") or rule
        if rule.endswith("/*") and mime.startswith(rule[:-1]):
            return True
        if rule == mime:
            return True
    return False


def signature_png(data: bytes) -> bool | None:
    """None when `data` is not a PNG we can read; else whether anything is drawn on it (an RGBA
    canvas that is all transparent zeros is empty; other colour types are taken as drawn)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    pos, idat, header = 8, bytearray(), None
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if len(chunk) != length:
            return None
        if kind == b"IHDR" and length == 13:
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None or not idat:
        return None
    width, height, depth, colour = header[:4]
    if width == 0 or height == 0 or width * height > MAX_SIGNATURE_PIXELS:
        return None
    if (depth, colour) != (8, 6):
        return True
    stride = 1 + 4 * width
    try:
        raw = zlib.decompressobj().decompress(bytes(idat), stride * height)
    except zlib.error:
        return None
    if len(raw) < stride * height:
        return None
    return any(any(raw[r * stride + 1:(r + 1) * stride]) for r in range(height))


# -- storing and answering ----------------------------------------------------------------------


def _store(db: DB, options: WebOptions, session_id: str, key: str, filename: str, mime: str,
           data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    options.upload_dir.mkdir(parents=True, exist_ok=True)
    path = options.upload_dir / digest
    if not path.exists():  # same bytes, same file: written once, atomically
        tmp = path.with_name(f"{digest}.{secrets.token_hex(8)}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    row = add_upload(db, session_id, key, filename, mime, len(data), digest)
    return reference(row.id, filename, mime, len(data), digest)


def reference(upload_id: str, filename: str, mime: str, size: int, digest: str) -> dict[str, Any]:
    return {"filename": filename, "mimetype": mime, "size": size, "sha256": digest, "number": upload_id}


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(ch for ch in base if ch.isprintable())[:200] or "upload"


def kept(value: Any) -> list[dict[str, str]]:
    """The stored uploads an answer (DAFile, DAFileList, dict or list) refers to: id and file name."""
    items: list[Any]
    if value is None or value == "":
        return []
    elements = getattr(value, "__dict__", {}).get("elements")
    if isinstance(value, list):
        items = value
    elif isinstance(elements, list):
        items = elements
    else:
        items = [value]
    out = []
    for item in items:
        attrs = item if isinstance(item, dict) else getattr(item, "__dict__", {})
        number, name = attrs.get("number"), attrs.get("filename")
        if isinstance(number, str) and isinstance(name, str):
            out.append({"id": number, "filename": name})
    return out


def receive(db: DB, options: WebOptions, session_id: str, screen: Screen, form: FormData,
            oversized: frozenset[str], _t: Callable[[str], str]) -> Received:
    """Store the files and signatures posted for `screen`; their answers and their errors."""
    out = Received()
    for f in screen.fields:
        if f.var is None or f.datatype not in STORED_TYPES:
            continue
        if f.datatype == "signature":
            refs, error = _signature(db, options, session_id, f.key, form, _t)
        else:
            refs, error = _files(db, options, session_id, f.key, f.accept, form, oversized, _t)
        if error:
            out.errors[f.key] = [error]
            continue
        if not refs:
            ids = [v for v in form.getlist(KEEP + f.key) if isinstance(v, str)]
            refs = [reference(r.id, r.filename, r.content_type, r.size, r.sha256)
                    for r in session_uploads(db, session_id, ids)]
        if refs:
            out.answers[f.key] = refs if f.datatype == "files" else refs[0]
    return out


def _files(db: DB, options: WebOptions, session_id: str, key: str, accept: str | None, form: FormData,
           oversized: frozenset[str], _t: Callable[[str], str]) -> tuple[list[dict[str, Any]], str | None]:
    if key in oversized:
        return [], _t(TOO_LARGE).format(mb=f"{options.max_upload_mb:g}")
    files = [u for u in form.getlist(key) if isinstance(u, UploadFile) and u.filename]
    checked = []
    for upload in files:
        upload.file.seek(0)
        data = upload.file.read(options.max_upload_bytes + 1)
        if len(data) > options.max_upload_bytes:
            return [], _t(TOO_LARGE).format(mb=f"{options.max_upload_mb:g}")
        name = _safe_name(upload.filename or "")
        mime = sniff(data[:512], name)
        if not acceptable(accept, mime):
            return [], _t(BAD_TYPE).format(accept=accept)
        checked.append((name, mime or "application/octet-stream", data))
    return [_store(db, options, session_id, key, n, m, d) for n, m, d in checked], None


def _signature(db: DB, options: WebOptions, session_id: str, key: str, form: FormData,
               _t: Callable[[str], str]) -> tuple[list[dict[str, Any]], str | None]:
    drawn = form.get(key)
    typed = form.get(TYPED + key)
    if isinstance(drawn, str) and drawn.startswith(PNG_DATA_URL):
        try:
            data = base64.b64decode(drawn[len(PNG_DATA_URL):], validate=True)
        except (binascii.Error, ValueError):
            return [], _t(BAD_SIGNATURE)
        state = signature_png(data) if len(data) <= options.max_upload_bytes else None
        if state is None:
            return [], _t(BAD_SIGNATURE)
        if not state:
            return [], _t(EMPTY_SIGNATURE)
        return [_store(db, options, session_id, key, "signature.png", "image/png", data)], None
    if isinstance(typed, str) and typed.strip():
        name = " ".join(typed.split())[:200]
        return [_store(db, options, session_id, key, "signature.txt", "text/plain", name.encode("utf-8"))], None
    return [], None
