"""The HTML preview of an agreement: the same assembled source as the PDF, so what a signer reads
in the browser is what they sign. Clauses chosen for the signer's region are highlighted, and a
note says which region rules applied and which clause versions were used.

Jinja2 with autoescaping renders it: answers are data and cannot inject HTML. The web layer
serves the fragment; this module only builds it.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, select_autoescape

from engine import AgreementSource

_LABELS: dict[str, dict[str, Any]] = {
    "en": {"region": "Region rules applied", "default": "general terms", "clause": "Article", "parties": "Parties",
           "version": "version", "from": "in effect from", "specific": "specific to {region}",
           "schedule": "Repayment schedule", "cols": ("No.", "Due date", "Principal", "Interest", "Payment", "Balance"),
           "total": "Total"},
    "vi": {"region": "Quy định theo khu vực được áp dụng", "default": "điều khoản chung", "clause": "Điều",
           "parties": "Các bên", "version": "phiên bản", "from": "có hiệu lực từ",
           "specific": "riêng cho {region}", "schedule": "Lịch trả nợ",
           "cols": ("STT", "Ngày đến hạn", "Gốc", "Lãi", "Số tiền trả", "Dư nợ"), "total": "Tổng"},
}

_TEMPLATE = """\
<article class="agreement-preview" lang="{{ s.language }}">
  <h1>{{ s.title }}</h1>
  <aside class="region-note" role="note">
    <strong>{{ t.region }}: {{ s.region }}</strong>
    <ul>
    {%- for rule in rules %}
      <li>{{ rule }}</li>
    {%- endfor %}
    </ul>
  </aside>
  {%- if s.parties %}
  <section class="parties">
    <h2>{{ t.parties }}</h2>
    <ul>{% for p in s.parties %}<li>{{ p.role }}: {{ p.name or p.staff or "" }}</li>{% endfor %}</ul>
  </section>
  {%- endif %}
  {%- for c in s.clauses %}
  <section class="clause{% if c.region != 'default' %} clause-regional{% endif %}" id="clause-{{ c.id }}"
           data-region="{{ c.region }}" data-version="{{ c.version }}">
    <h2>{{ t.clause }} {{ c.number }}. {{ c.title }}</h2>
    {%- for para in c.text.split("\\n\\n") if para.strip() %}
    <p>{{ para.strip() }}</p>
    {%- endfor %}
  </section>
  {%- endfor %}
  {%- if schedule %}
  <section class="schedule">
    <h2>{{ t.schedule }}</h2>
    <div class="table-scroll" tabindex="0" role="region" aria-label="{{ t.schedule }}">
    <table>
      <thead><tr>{% for col in t.cols %}<th scope="col">{{ col }}</th>{% endfor %}</tr></thead>
      <tbody>
      {%- for r in schedule.rows %}
        <tr><td>{{ r.no }}</td><td>{{ r.date }}</td>
          {%- for k in ("principal", "interest", "payment", "balance") %}<td>{{ r[k] }}</td>{% endfor %}</tr>
      {%- endfor %}
      </tbody>
      <tfoot><tr><th scope="row" colspan="2">{{ t.total }}</th>
        {%- for k in ("principal", "interest", "payment") %}<td>{{ schedule.totals[k] }}</td>{% endfor %}<td></td></tr>
      </tfoot>
    </table>
    </div>
  </section>
  {%- endif %}
</article>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)
_COMPILED = _ENV.from_string(_TEMPLATE)


def preview_html(source: AgreementSource, extra: dict[str, Any] | None = None) -> str:
    """An HTML fragment of the agreement, region clauses marked with `clause-regional`; with the
    same `extra` as the PDF it also shows the repayment schedule."""
    t = _LABELS.get(source.language, _LABELS["en"])
    rules = [
        f"{t['clause']} {c.number} ({c.id}): "
        + (t["specific"].format(region=c.region) if c.region != "default" else t["default"])
        + f", {t['version']} {c.version}, {t['from']} {c.effective_from.isoformat()}"
        for c in source.clauses
    ]
    return _COMPILED.render(s=source, t=t, rules=rules, schedule=(extra or {}).get("schedule"))
