"""Agreement rendering: an assembled `engine.AgreementSource` + a Typst template → a PDF/A-2b with
an empty signature field per signing party and a reserved platform-seal field."""

from __future__ import annotations

from documents.render import FONT_DIR, RenderedDocument, RenderError, render_pdf, template_path
from documents.schedule import amortisation, schedule_table

__all__ = ["FONT_DIR", "RenderError", "RenderedDocument", "amortisation", "render_pdf", "schedule_table",
           "template_path"]
