"""PAdES signing of the reserved signature fields, and the platform seal with the certificate of completion.

Flow (one document, strictly one signature at a time on the latest bytes; the caller serialises per document):

1. `sign(pdf, "sig_<role>", credential, stamp)` for each party. The first signature of a document is a
   **certification** signature with DocMDP P=2 (form filling and signing allowed afterwards), later ones are
   approval signatures. Each is **PAdES B-LT**: RFC 3161 signature timestamp, plus the certificates, OCSP
   responses and CRLs needed to validate it, in the DSS. The visible stamp shows the name, role, identity
   method, time, a QR code with the caller's verification URL and, optionally, the signer's signature image.
2. `seal(pdf, completion)` fills `platform_seal` with the platform e-seal signature whose appearance is the
   certificate of completion (rendered by Typst from `Completion`), then DSS + document timestamp: **PAdES B-LTA**.

Only pre-created fields are filled: adding a page or a visible field after the first signature would break it
(notes §5.1). All calls are async (pyHanko's sync wrappers call `asyncio.run`, which fails inside the web app's
event loop) and share one aiohttp session for TSA, OCSP and CRL requests (a new session costs ~50 ms each time).

Stamp font: DejaVu Sans (Debian `fonts-dejavu-core`), subset once to Latin + Vietnamese without layout tables
and rescaled to 1000 units per em (pyHanko 0.38 writes glyph widths in font units, so any other em size spreads
the letters), cached in a file and loaded once per process.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import hashlib
import io
import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import ImportedPdfPage, PdfContent
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import QRStampStyle, StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from signing.keys import asn1_cert, simple_signer
from signing.pki import PKI, Credential
from signing.services import LocalFirstSession, TrustServices
from signing.tsa import timestamper

FONT_DIR = Path(os.environ.get("ACCORD_FONT_DIR") or "/usr/share/fonts/truetype/dejavu")
STAMP_FONT_SOURCE = FONT_DIR / "DejaVuSans.ttf"
COMPLETION_TEMPLATE = Path(__file__).resolve().parent / "templates" / "completion.typ"
STAMP_FONT_SIZE = 8
# /Contents reserved per signature (bytes of DER; doubled as hex in the file). Sized explicitly so pyHanko skips
# its dry-run estimate (a second signing pass); B-LT CMS here is ~5 KB (EC signer, RSA TSA token with its chain).
SIGNATURE_BYTES = 12_000
SEAL_BYTES = 12_000
TSA_TOKEN_BYTES = 8_000


class SigningError(Exception):
    """The document cannot be signed: unknown or already signed field, unreadable PDF, TSA/OCSP failure."""


@dataclass(frozen=True)
class Stamp:
    """What a signature's visible stamp shows. `verify_url` becomes the QR code (and is printed);
    `image_png` is the signer's drawn/typed/uploaded signature (PNG bytes), drawn on the stamp's right part."""

    name: str
    verify_url: str
    role: str = ""
    identity: str = ""
    image_png: bytes | None = None


@dataclass(frozen=True)
class Participant:
    name: str
    email: str
    role: str
    identity: str
    result: str
    ip: str = ""
    device: str = ""
    sent: str = ""
    viewed: str = ""
    signed: str = ""
    consent: str = ""


@dataclass(frozen=True)
class DocumentDigest:
    name: str
    original_sha256: str
    final_sha256: str


@dataclass(frozen=True)
class Event:
    at: str
    actor: str
    event: str
    detail: str = ""
    ip: str = ""


@dataclass(frozen=True)
class PaymentRecord:
    """A payment taken as a step of the ceremony, as the provider confirmed it."""

    description: str
    amount: str  # e.g. "500000 VND"
    payer: str
    status: str
    provider: str
    reference: str  # the provider's ids (checkout session, payment intent)
    paid_at: str


@dataclass(frozen=True)
class Completion:
    """The certificate of completion's data (all plain text, already formatted by the caller; times in UTC).

    `final_sha256` of the sealed document itself is the SHA-256 of the bytes `seal()` receives (the seal's own
    revision cannot contain its own hash)."""

    envelope_id: str
    title: str
    completed_at: str
    documents: Sequence[DocumentDigest]
    participants: Sequence[Participant]
    events: Sequence[Event]
    audit_head: str
    platform: str = "Accord"
    payments: Sequence[PaymentRecord] = ()


# ---- the stamp font -----------------------------------------------------------------------------------------------
# Latin-1, Latin Extended-A and the Vietnamese letters (ơ ư and the precomposed tone marks), combining marks,
# general punctuation, ₫ and €. Fewer glyphs make pyHanko's per-stamp subsetting faster.
_VIETNAMESE_AND_LATIN = [*range(0x20, 0x7F), *range(0xA0, 0x180), 0x1A0, 0x1A1, 0x1AF, 0x1B0, *range(0x300, 0x324),
                         *range(0x1EA0, 0x1EFA), *range(0x2010, 0x2027), 0x2030, 0x2039, 0x203A, 0x20AB, 0x20AC]


def stamp_font(cache_dir: Path | None = None, source: Path = STAMP_FONT_SOURCE) -> Path:
    """Path of the prepared stamp font (subset, 1000 upem), built on first use (~1 s) and cached in a file."""
    if not source.is_file():
        raise SigningError(f"the stamp font {source} is missing; install the Debian package fonts-dejavu-core")
    stat = source.stat()
    tag = hashlib.sha256(f"{source}:{stat.st_size}:{stat.st_mtime_ns}:v2".encode()).hexdigest()[:12]
    target = (cache_dir or Path(tempfile.gettempdir())) / f"accord-stamp-{source.stem}-{tag}.ttf"
    if target.is_file():
        return target
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(str(source))
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_VIETNAMESE_AND_LATIN)
    subsetter.subset(font)
    scale_upem(font, 1000)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    font.save(str(tmp))
    os.replace(tmp, target)  # atomic: concurrent first uses never see half a font
    return target


@dataclass(frozen=True)
class _FontFromBytes(GlyphAccumulatorFactory):
    """pyHanko opens the font file for every stamp and never closes it; read it once and hand out BytesIO."""

    font_bytes: bytes = b""

    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(writer=writer, font_handle=io.BytesIO(self.font_bytes), font_size=self.font_size,
                                obj_stream=obj_stream)


class _ImportedPdfBytes(ImportedPdfPage):
    """`ImportedPdfPage` from bytes instead of a file name."""

    def __init__(self, pdf: bytes, page_ix: int = 0) -> None:
        super().__init__("<memory>", page_ix)
        self._pdf = pdf

    def render(self) -> bytes:
        import binascii
        import uuid

        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._pdf)), page_ix=self.page_ix)
        name = b"/Import" + binascii.hexlify(uuid.uuid4().bytes)
        self.resources.xobject[name.decode("ascii")] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = layout.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return name + b" Do"


# ---- the certificate of completion ----------------------------------------------------------------------------------
def render_completion(completion: Completion) -> bytes:
    """The certificate of completion as a one-page 170×215 mm PDF (Typst). A long event log first shrinks the
    text (7 → 5 pt); if it still does not fit, the middle events are left out with a note (the full log is the
    audit trail's)."""
    data: dict[str, Any] = dataclasses.asdict(completion)
    events = list(data["events"])
    with _typst_lock:
        return _fit_on_one_page(_completion_compiler(), data, events)


_typst_lock = threading.Lock()


@functools.cache
def _completion_compiler() -> Any:
    """One compiler per process: it keeps the parsed template and the font book (a cold one costs ~150 ms)."""
    import typst

    return typst.Compiler(str(COMPLETION_TEMPLATE), root=str(COMPLETION_TEMPLATE.parent), font_paths=[str(FONT_DIR)],
                          ignore_system_fonts=True)


def _fit_on_one_page(compiler: Any, data: dict[str, Any], events: list[Any]) -> bytes:
    def attempt(size: int, keep: int) -> bytes | None:
        shown = events if keep >= len(events) else events[: keep // 2] + events[len(events) - (keep - keep // 2):]
        data.update(font_size=size, events=shown, omitted=len(events) - len(shown))
        pdf = compiler.compile(sys_inputs={"data": json.dumps(data, ensure_ascii=False)})
        assert isinstance(pdf, bytes)
        return pdf if _page_count(pdf) == 1 else None

    for size in (7, 6, 5):
        if (pdf := attempt(size, len(events))) is not None:
            return pdf
    best, low, high = None, 0, len(events) - 1  # the most events that fit at 5 pt: binary search
    while low <= high:
        mid = (low + high) // 2
        if (pdf := attempt(5, mid)) is not None:
            best, low = pdf, mid + 1
        else:
            high = mid - 1
    if best is None:
        raise SigningError("the certificate of completion does not fit on its page even without events")
    return best  # the last success is the largest number of events that fits (fitting is monotonic)


def _page_count(pdf: bytes) -> int:
    return int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"])


# ---- signing --------------------------------------------------------------------------------------------------------
def signature_fields(pdf: bytes) -> dict[str, bool]:
    """Signature field name -> whether it is already signed, in document order."""
    from pyhanko.sign.fields import enumerate_sig_fields

    reader = PdfFileReader(io.BytesIO(pdf))
    return {name: value is not None for name, value, _ in enumerate_sig_fields(reader)}


class Pades:
    """Signs with Accord's PKI. One instance per process (or per event loop), sharing one aiohttp session:

        async with aiohttp.ClientSession() as session:
            pades = Pades(pki, session)
            pdf = await pades.sign(pdf, "sig_applicant", pki.issue_signer(...), Stamp(...))
            ...
            pdf = await pades.seal(pdf, Completion(...))

    Accord's own services (its TSA, OCSP responder, CRLs and CA certificates) are called in-process through
    `services` (default: a `TrustServices` on `pki`), the same code the HTTP endpoints run; other URLs (an external
    TSA given as `tsa_url`, another CA's OCSP) go over `session`. `extra_roots` are trusted besides Accord's root
    (e.g. an external TSA's root)."""

    def __init__(self, pki: PKI, session: aiohttp.ClientSession, *, tsa_url: str | None = None,
                 extra_roots: Sequence[Any] = (), font_cache: Path | None = None,
                 services: TrustServices | None = None) -> None:
        self.pki = pki
        self.services = services or TrustServices(pki)
        self.session = session
        self._fetch_session: Any = LocalFirstSession(self.services, session)
        self.timestamper: TimeStamper = self.services.tsa if tsa_url is None else timestamper(tsa_url, session)
        self._roots = [asn1_cert(pki.root), *extra_roots]
        self._other = [asn1_cert(pki.ca)]
        font = stamp_font(font_cache)
        self._font = _FontFromBytes(str(font), font_size=STAMP_FONT_SIZE, font_bytes=font.read_bytes())

    def validation_context(self) -> ValidationContext:
        """Fresh per signature (it caches what it fetched): Accord's root, fetching over the shared session,
        hard-fail (a B-LT signature without its revocation data is refused rather than silently weaker)."""
        return ValidationContext(trust_roots=self._roots, other_certs=self._other, allow_fetching=True,
                                 revocation_mode="hard-fail",
                                 fetcher_backend=AIOHttpFetcherBackend(self._fetch_session))

    def _stamp_style(self, stamp: Stamp) -> QRStampStyle:
        background: PdfContent | None = None
        if stamp.image_png:
            from PIL import Image

            image: Image.Image = Image.open(io.BytesIO(stamp.image_png))
            image.load()
            if image.mode not in ("RGB", "L"):  # flatten transparency onto white: PDF/A-2b allows no soft masks
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(image, mask=image.getchannel("A") if "A" in image.getbands() else None)
                image = flat
            background = PdfImage(image)
        lines = ["Digitally signed by / Ký số bởi:", "%(signer)s"]
        if stamp.role:
            lines.append("Role / Vai trò: %(role)s")
        if stamp.identity:
            lines.append("Identity / Xác thực: %(identity)s")
        lines += ["Time / Thời điểm: %(when)s", "%(url)s"]
        return QRStampStyle(
            stamp_text="\n".join(lines),
            text_box_style=TextBoxStyle(font=self._font, font_size=STAMP_FONT_SIZE, leading=STAMP_FONT_SIZE + 2),
            border_width=1, background=background, background_opacity=1.0,
            # the signature image sits in the right third of the 170×34 mm box, text and QR code on the left
            background_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MAX, y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(left=320, right=6, top=6, bottom=6)),
            inner_content_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MIN, y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(left=4, right=170, top=4, bottom=4)),
        )

    async def sign(self, pdf: bytes, field_name: str, credential: Credential, stamp: Stamp, *,
                   certify: bool | None = None, reason: str = "Signing the agreement / Ký hợp đồng",
                   location: str | None = None) -> bytes:
        """Sign the reserved, empty field `field_name` (PAdES B-LT) and return the new PDF bytes.

        `certify=None` certifies (DocMDP P=2) when the document has no signature yet."""
        fields_ = self._check_field(pdf, field_name)
        if certify is None:
            certify = not any(fields_.values())
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES, certify=certify,
            docmdp_permissions=MDPPerm.FILL_FORMS, reason=reason, location=location, name=stamp.name,
            embed_validation_info=True, validation_context=self.validation_context())
        params = {"signer": stamp.name, "role": stamp.role, "identity": stamp.identity, "url": stamp.verify_url,
                  "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
        signer = signers.PdfSigner(meta, signer=simple_signer(credential), timestamper=self.timestamper,
                                   stamp_style=self._stamp_style(stamp))
        return await self._run(signer, pdf, SIGNATURE_BYTES, params)

    async def seal(self, pdf: bytes, completion: Completion, field_name: str = "platform_seal") -> bytes:
        """The platform e-seal on `field_name` with the certificate of completion as its appearance, then DSS and
        a document timestamp (PAdES B-LTA). Sign every party first: the seal is the last revision with content."""
        self._check_field(pdf, field_name)
        appearance = await asyncio.to_thread(render_completion, completion)
        style = StaticStampStyle(background=_ImportedPdfBytes(appearance), border_width=0, background_opacity=1.0)
        meta = signers.PdfSignatureMetadata(
            field_name=field_name, md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES, certify=False,
            reason="Certificate of completion / Chứng nhận hoàn tất", name=completion.platform,
            embed_validation_info=True, use_pades_lta=True, validation_context=self.validation_context())
        signer = signers.PdfSigner(meta, signer=simple_signer(self.pki.seal), timestamper=self.timestamper,
                                   stamp_style=style)
        return await self._run(signer, pdf, SEAL_BYTES, {})

    @staticmethod
    def _check_field(pdf: bytes, field_name: str) -> dict[str, bool]:
        try:
            fields_ = signature_fields(pdf)
        except Exception as exc:  # pyHanko raises several error types for unreadable PDFs
            raise SigningError(f"cannot read the PDF: {exc}") from exc
        if field_name not in fields_:
            raise SigningError(f"the PDF has no signature field {field_name!r} (it has {sorted(fields_)})")
        if fields_[field_name]:
            raise SigningError(f"the signature field {field_name!r} is already signed")
        return fields_

    @staticmethod
    async def _run(signer: signers.PdfSigner, pdf: bytes, reserved: int, params: dict[str, str]) -> bytes:
        out = io.BytesIO()
        try:
            await signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)), existing_fields_only=True,
                                        bytes_reserved=reserved, appearance_text_params=params, output=out)
        except Exception as exc:
            raise SigningError(f"signing failed: {type(exc).__name__}: {exc}") from exc
        return out.getvalue()
