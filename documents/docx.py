"""Word templates: an assembled agreement rendered into a `.docx` with docxtpl, and (optionally)
converted to PDF by LibreOffice.

The template sees the same data as the Typst one (`documents.render.template_data`), plus
`schedule` (the repayment rows, or []), `schedule_totals` and `labels` (English or Vietnamese
headings and role names, by the agreement's language). The document's title property is set to the
agreement's title. docxtpl renders the template's `{{ }}`, `{%p %}` and
`{%tr %}` tags with Jinja2; we give it a sandboxed environment with autoescape on, so answers are
data: `<`, `&` are XML-escaped, and Jinja syntax inside an answer (`{{ 7*7 }}`) prints literally
(Jinja never renders the values it inserts). `None` prints as an empty string.

LibreOffice is a system program (Debian `libreoffice-writer-nogui`, ~260 MB), not a Python
dependency: `docx_to_pdf` runs `soffice --headless` once per conversion in a fresh, temporary
profile directory and raises `RenderError` naming the package when it is missing.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from documents.render import RenderError, template_data
from engine import AgreementSource

LIBREOFFICE_PROGRAMS = ("soffice", "libreoffice")
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"
CONVERT_TIMEOUT = 120.0

LABELS: dict[str, dict[str, Any]] = {
    "en": {"article": "Article", "parties": "Parties", "date": "Date", "region": "Region",
           "schedule": "Repayment schedule", "total": "Total", "payment": "Payment", "signatures": "Signatures",
           "cols": ["No.", "Due date", "Principal", "Interest", "Payment", "Balance"], "page": "Page",
           "roles": {"applicant": "Applicant", "co_applicant": "Co-applicant", "loan_officer": "Loan officer",
                     "lender": "Lender", "records": "Records", "tenant": "Tenant", "co_tenant": "Co-tenant",
                     "second_co_tenant": "Second co-tenant", "leasing_agent": "Leasing agent",
                     "landlord": "Landlord"}},
    "vi": {"article": "Điều", "parties": "Các bên", "date": "Ngày", "region": "Khu vực",
           "schedule": "Lịch trả nợ", "total": "Tổng cộng", "payment": "Thanh toán", "signatures": "Chữ ký",
           "cols": ["Kỳ", "Ngày đến hạn", "Gốc", "Lãi", "Số tiền trả", "Dư nợ"], "page": "Trang",
           "roles": {"applicant": "Bên vay", "co_applicant": "Bên đồng vay", "loan_officer": "Cán bộ tín dụng",
                     "lender": "Bên cho vay", "records": "Lưu trữ", "tenant": "Bên thuê", "co_tenant": "Bên đồng thuê",
                     "second_co_tenant": "Bên đồng thuê thứ hai", "leasing_agent": "Nhân viên cho thuê",
                     "landlord": "Bên cho thuê"}},
}

# XML 1.0 forbids most control characters, and docxtpl turns \a and \f inside text into new
# paragraphs / page breaks: answers keep only \n (a line break) and \t (a tab).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def docx_data(source: AgreementSource, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a DOCX template sees: the Typst data, plus `schedule`, `schedule_totals` and `labels`."""
    data = template_data(source, extra)
    schedule = (extra or {}).get("schedule") or {}
    data["schedule"] = list(schedule.get("rows", []))
    data["schedule_totals"] = schedule.get("totals")
    data["labels"] = LABELS["vi" if source.language.startswith("vi") else "en"]
    return _clean(data)


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=StrictUndefined,
                                finalize=lambda value: "" if value is None else value)


def render_docx(source: AgreementSource, template: Path, extra: dict[str, Any] | None = None) -> bytes:
    """Render the Word `template` with the agreement's data; returns the .docx bytes."""
    from docxtpl import DocxTemplate

    if not template.is_file():
        raise RenderError(f"the agreement template {template} does not exist")
    try:
        document = DocxTemplate(str(template))
        document.render(docx_data(source, extra), jinja_env=_environment(), autoescape=True)
        document.docx.core_properties.title = _clean(source.title)  # plain text, not XML: set, not rendered
        out = io.BytesIO()
        document.save(out)
    except TemplateError as exc:
        raise RenderError(f"{template.name}: {exc}") from exc
    except (KeyError, ValueError, OSError) as exc:  # not a .docx (zip/XML) file
        raise RenderError(f"{template.name}: not a usable .docx template: {exc}") from exc
    return out.getvalue()


def libreoffice() -> str:
    """The LibreOffice program on PATH; RenderError naming the Debian package when there is none."""
    for name in LIBREOFFICE_PROGRAMS:
        found = shutil.which(name)
        if found:
            return found
    raise RenderError(f"LibreOffice is not installed (no {' or '.join(LIBREOFFICE_PROGRAMS)} on PATH); it converts "
                      f"DOCX agreements to PDF: install the Debian package {LIBREOFFICE_PACKAGE} "
                      f"(apt-get install --no-install-recommends {LIBREOFFICE_PACKAGE})")


def docx_to_pdf(docx: bytes, *, timeout: float = CONVERT_TIMEOUT) -> bytes:
    """Convert .docx bytes to PDF with headless LibreOffice, in a throwaway profile directory (so
    conversions never share or lock a user profile). The whole process group is killed on timeout."""
    program = libreoffice()
    with tempfile.TemporaryDirectory(prefix="accord-lo-") as tmp_name:
        tmp = Path(tmp_name)
        src, outdir, profile = tmp / "agreement.docx", tmp / "out", tmp / "profile"
        src.write_bytes(docx)
        outdir.mkdir()
        command = [program, "--headless", "--norestore", "--nolockcheck", "--nodefault",
                   f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf", "--outdir", str(outdir),
                   str(src)]
        env = {**os.environ, "HOME": str(tmp)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RenderError(f"LibreOffice did not convert the agreement within {timeout:g} s") from None
        pdf = outdir / "agreement.pdf"
        if process.returncode != 0 or not pdf.is_file():
            detail = (stderr or stdout).decode("utf-8", "replace").strip()
            raise RenderError(f"LibreOffice could not convert the agreement (exit {process.returncode}): {detail}")
        return pdf.read_bytes()
