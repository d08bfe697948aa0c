"""Agreement rendering: an assembled `engine.AgreementSource` + a Typst template → a PDF/A-2b with
an empty signature field per signing party and a reserved platform-seal field; or + a Word template
→ a .docx (docxtpl), optionally converted to PDF by LibreOffice. `documents.versions` compares two
assembled agreements clause by clause."""

from __future__ import annotations

from documents.docx import docx_to_pdf, render_docx
from documents.render import FONT_DIR, RenderedDocument, RenderError, render_pdf, template_path
from documents.schedule import amortisation, schedule_extra, schedule_table
from documents.versions import ClauseChange, diff_agreements

__all__ = ["FONT_DIR", "ClauseChange", "RenderError", "RenderedDocument", "amortisation", "diff_agreements",
           "docx_to_pdf", "render_docx", "render_pdf", "schedule_extra", "schedule_table", "template_path"]
