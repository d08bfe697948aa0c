"""`manage.charts`: well-formed, accessible SVG (role, title, desc naming the finding, a title on
every bar), numbers/dates/durations in the language (Babel), and the examples saved under
artifacts/charts/ as SVG and as PNG (drawn by Chromium, audited by axe-core there)."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser

from manage import charts
from manage.reports import BUCKETS, Bucket, DayCount, Funnel, FunnelStep, ReportFilter, Turnaround, TurnaroundReport

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "charts"
NS = {"svg": "http://www.w3.org/2000/svg"}


def turnaround(counts: list[int], median: float, p90: float, same_day: int, within_hour: int) -> Turnaround:
    return Turnaround(count=sum(counts), median_seconds=median, p90_seconds=p90, same_day=same_day,
                      within_hour=within_hour,
                      buckets=tuple(Bucket(k, u, c) for (k, u), c in zip(BUCKETS, counts, strict=True)))


DAYS = tuple(DayCount(dt.date(2026, 3, 1) + dt.timedelta(days=i), interviews=(i * 7) % 23 + 3,
                      envelopes=(i * 5) % 19 + 1) for i in range(30))
DAYS = DAYS[:10] + (DayCount(dt.date(2026, 3, 11), 1234, 1001),) + DAYS[11:]
INTERVIEWS = turnaround([310, 420, 980, 150, 60, 40, 25, 15], 1500, 30_000, 1800, 1440)
ENVELOPES = turnaround([120, 300, 640, 420, 300, 110, 60, 50], 3000, 200_000, 1600, 1060)
REPORT = TurnaroundReport(ReportFilter(), INTERVIEWS, ENVELOPES, DAYS)
FUNNEL = Funnel(ReportFilter(interview="loan_application"), started=2000, completed=1500, steps=(
    FunnelStep("welcome", 1, 2000, 40, 2000, 12, 40),
    FunnelStep("applicant_name", 2, 1960, 120, 1960, 35, 80),
    FunnelStep("income", 3, 1840, 260, 1900, 95, 300),
    FunnelStep("loan_amount", 4, 1580, 60, 1600, 45, 120),
    FunnelStep("review", 5, 1520, 20, 1530, 140, 600),
))


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    assert root.find(f"svg:title[@id='{title_id}']", NS) is not None
    assert root.find(f"svg:desc[@id='{desc_id}']", NS) is not None
    for rect in root.iter("{http://www.w3.org/2000/svg}rect"):  # every bar says its value
        if rect.get("fill") not in ("#ffffff",) and rect.get("width") not in ("12",):
            assert rect.find("svg:title", NS) is not None
    return root


def desc(root: ET.Element) -> str:
    found = root.find("svg:desc", NS)
    assert found is not None and found.text
    return found.text


def tips(root: ET.Element) -> list[str]:
    return [t.text or "" for r in root.iter("{http://www.w3.org/2000/svg}rect") for t in r.findall("svg:title", NS)]


def test_completions_chart_says_totals_and_busiest_day() -> None:
    en = parse(charts.completions_chart(DAYS, "en"))
    total_i = sum(d.interviews for d in DAYS)
    assert f"{total_i:,} interviews" in desc(en) and "Busiest day: Mar 11, 2026 (1,234 interviews)" in desc(en)
    assert "Mar 11, 2026: 1,234 — Interviews completed" in tips(en)
    vi = parse(charts.completions_chart(DAYS, "vi"))
    assert f"{total_i:,}".replace(",", ".") + " bảng hỏi" in desc(vi)
    assert "11 thg 3, 2026: 1.234 — Bảng hỏi hoàn tất" in tips(vi)
    assert len(tips(en)) == 2 * len(DAYS)


def test_turnaround_chart_shares_and_durations() -> None:
    en = parse(charts.turnaround_chart(INTERVIEWS, "interviews", "en"))
    assert "2,000 completed. Median 25 minutes; 90% within 8 hours." in desc(en)
    assert "90% completed the same day, 72% within an hour." in desc(en)
    assert "15–60 min: 980 (49%)" in tips(en)
    vi = parse(charts.turnaround_chart(ENVELOPES, "envelopes", "vi"))
    assert "Trung vị 50 phút" in desc(vi) and "trong vòng một giờ" in desc(vi)
    assert "15–60 phút: 640 (32%)" in tips(vi)


def test_shares_chart() -> None:
    en = parse(charts.shares_chart(REPORT, "en"))
    assert desc(en) == ("Interviews: 90% the same day, 72% within an hour. "
                        "Agreements: 80% the same day, 53% within an hour.")
    assert "Same day, Interviews completed: 90%" in tips(en)


def test_funnel_chart_names_the_largest_drop_off() -> None:
    en = parse(charts.funnel_chart(FUNNEL, "en", labels={"income": "Your monthly income"}))
    assert "2,000 sessions started, 1,500 completed (75%)" in desc(en)
    assert "Largest drop-off: Your monthly income (14% stopped there)" in desc(en)
    assert "Your monthly income: Stopped here 260 (14%)" in tips(en)
    vi = parse(charts.funnel_chart(FUNNEL, "vi"))
    assert "2.000 phiên đã bắt đầu" in desc(vi)


def test_empty_reports_draw_a_message() -> None:
    empty = turnaround([0] * 8, 0, 0, 0, 0)
    root = parse(charts.turnaround_chart(Turnaround(0, None, None, 0, 0, empty.buckets), "interviews", "vi"))
    assert desc(root) == "Không có hồ sơ nào hoàn tất trong khoảng thời gian này."
    zero = tuple(DayCount(dt.date(2026, 3, 1) + dt.timedelta(days=i), 0, 0) for i in range(3))
    assert "Nothing was completed" in desc(parse(charts.completions_chart(zero, "en")))


def test_text_is_escaped() -> None:
    funnel = Funnel(ReportFilter(), 1, 0, (FunnelStep("<script>", 1, 1, 1, 0, None, None),))
    svg = charts.funnel_chart(funnel, "en")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)


def all_charts(lang: str) -> dict[str, str]:
    return {
        f"completions-{lang}": charts.completions_chart(DAYS, lang),
        f"turnaround-interviews-{lang}": charts.turnaround_chart(INTERVIEWS, "interviews", lang),
        f"turnaround-envelopes-{lang}": charts.turnaround_chart(ENVELOPES, "envelopes", lang),
        f"shares-{lang}": charts.shares_chart(REPORT, lang),
        f"funnel-{lang}": charts.funnel_chart(FUNNEL, lang),
    }


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_charts_in_chromium_saved_as_artifacts(browser: Browser, lang: str) -> None:
    """Each chart drawn by Chromium (PNG next to the SVG in artifacts/charts/), and axe-core finds
    nothing to fix on a page showing them all."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 800, "height": 600}, locale=lang)
    page = context.new_page()
    made = all_charts(lang)
    for name, svg in made.items():
        (ARTIFACTS / f"{name}.svg").write_text(svg, encoding="utf-8")
        page.set_content(f'<!doctype html><html lang="{lang}"><head><title>{name}</title></head>'
                         f'<body style="margin:0">{svg}</body></html>')
        box = page.locator("svg").bounding_box()
        assert box is not None and box["width"] > 700 and box["height"] > 70
        page.locator("svg").screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_content(f'<!doctype html><html lang="{lang}"><head><title>Reports</title></head><body><main>'
                     f'<h1>Reports</h1>{"".join(made.values())}</main></body></html>')
    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()
    context.close()
