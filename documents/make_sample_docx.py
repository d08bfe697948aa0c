"""Write the sample Word template `interviews/templates/loan_agreement.docx` with python-docx.

    python -m documents.make_sample_docx [OUT.docx]

The template uses docxtpl tags over the data of `documents.docx.docx_data`: the title, the date and
region, the parties (`{%p for p in parties %}`), the numbered clauses with their paragraphs, the
repayment schedule as a table (`{%tr for r in schedule %}` rows), the payment, the signers, and a
"Page X / Y" footer (Word PAGE / NUMPAGES fields). A firm would author its own in Word.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "interviews" / "templates" / "loan_agreement.docx"


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A simple Word field (PAGE, NUMPAGES) at the end of the paragraph."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def build(out: Path = SAMPLE) -> Path:
    doc = Document()
    doc.styles["Normal"].font.name = "DejaVu Sans"
    doc.styles["Normal"].font.size = Pt(10)
    doc.core_properties.author = "Accord"

    doc.add_heading("{{ title }}", level=0)
    doc.add_paragraph("{{ labels.date }}: {{ date.text }} · {{ labels.region }}: {{ region }}")

    doc.add_heading("{{ labels.parties }}", level=1)
    doc.add_paragraph("{%p for p in parties %}")
    doc.add_paragraph("{{ labels.roles.get(p.role, p.role | replace('_', ' ')) }}: {{ p.name or p.staff }}"
                      "{% if p.email %} ({{ p.email }}){% endif %}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")

    doc.add_paragraph("{%p for c in clauses %}")
    doc.add_heading("{{ labels.article }} {{ c.number }}. {{ c.title }}", level=2)
    doc.add_paragraph("{%p for para in c.paragraphs %}")
    doc.add_paragraph("{{ para }}")
    doc.add_paragraph("{%p endfor %}")
    doc.add_paragraph("{%p endfor %}")

    doc.add_paragraph("{%p if schedule %}")
    doc.add_heading("{{ labels.schedule }}", level=1)
    table = doc.add_table(rows=5, cols=6)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, [f"{{{{ labels.cols[{i}] }}}}" for i in range(6)]):
        cell.text = text
    table.rows[1].cells[0].text = "{%tr for r in schedule %}"
    for cell, key in zip(table.rows[2].cells, ["no", "date", "principal", "interest", "payment", "balance"]):
        cell.text = f"{{{{ r.{key} }}}}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    totals = table.rows[4].cells
    totals[0].text = "{{ labels.total }}"
    for cell, key in zip(totals[2:5], ["principal", "interest", "payment"]):
        cell.text = f"{{{{ schedule_totals.{key} if schedule_totals else '' }}}}"
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("{%p if payment %}")
    doc.add_heading("{{ labels.payment }}", level=1)
    doc.add_paragraph("{{ payment.description }}: {{ payment.amount }} {{ payment.currency }}")
    doc.add_paragraph("{%p endif %}")

    doc.add_heading("{{ labels.signatures }}", level=1)
    doc.add_paragraph("{%p for s in signers %}")
    doc.add_paragraph("{{ labels.roles.get(s.role, s.role | replace('_', ' ')) }}: {{ s.name or s.staff }}")
    doc.add_paragraph("______________________________")
    doc.add_paragraph("{%p endfor %}")

    footer = doc.sections[0].footer.paragraphs[0]
    footer.add_run("{{ labels.page }} ")
    _field(footer, "PAGE")
    footer.add_run(" / ")
    _field(footer, "NUMPAGES")

    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = build(Path(args[0]) if args else SAMPLE)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
