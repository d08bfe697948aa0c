"""Server-rendered SVG charts of the reports (`manage.reports`): no JavaScript, no chart library,
the same picture in every browser, in e-mails and in a PDF.

Accessibility: each chart is `role="img"` labelled by its `<title>` and a `<desc>` that says in
words what the chart shows (totals, median, the busiest day, the largest drop-off), so a screen
reader user gets the finding, not a list of rectangles; every bar has its own `<title>` (the
exact value, also the tooltip); text is real text (selectable, zoomable); the two series differ
in colour *and* are named in a legend; colours have at least 4.5:1 contrast with white.
Numbers, percentages, dates and durations are formatted for the language by Babel (en, vi).

Each function returns the SVG as a string; the page embeds it (`Markup(...)`). `chart_id`
keeps the ids of the title/desc unique when several charts share a page."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal, format_percent

from manage.labels import text
from manage.reports import DayCount, Funnel, Turnaround, TurnaroundReport

INK = "#1b1b1b"
MUTED = "#595959"  # 7:1 on white
GRID = "#d9d9d9"
BLUE = "#1f5f99"  # interviews (6.6:1 on white)
GREEN = "#2b7a3b"  # agreements (5.3:1)
ORANGE = "#a64b00"  # drop-off (5.9:1)


# --- formatting ----------------------------------------------------------------------------------


def number(value: float, lang: str) -> str:
    return str(format_decimal(value, locale=lang))


def percent(share: float | None, lang: str) -> str:
    return text(lang, "none") if share is None else str(format_percent(share, format="#,##0%", locale=lang))


def duration(seconds: float | None, lang: str) -> str:
    """'40 minutes' / '40 phút', to the largest sensible unit (Babel)."""
    if seconds is None:
        return text(lang, "none")
    return str(format_timedelta(dt.timedelta(seconds=seconds), threshold=1.1, locale=lang))


def day_label(day: dt.date, lang: str) -> str:
    return str(format_date(day, "d MMM", locale=lang))


def long_day(day: dt.date, lang: str) -> str:
    return str(format_date(day, format="medium", locale=lang))


# --- drawing -------------------------------------------------------------------------------------


def _svg(chart_id: str, title: str, desc: str, width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12" fill="{INK}">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>'
        f'<text x="16" y="24" font-size="15" font-weight="600">{escape(title)}</text>'
        + "".join(body) + "</svg>"
    )


def _ticks(top: float) -> list[float]:
    """Round axis ticks from 0 to at least `top` (steps of 1, 2 or 5 × 10^k, about 5 of them)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0)
    count = math.ceil(top / step)
    return [i * step for i in range(count + 1)]


def _bar(x: float, y: float, w: float, h: float, colour: str, tip: str) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0):.1f}" fill="{colour}">'
            f'<title>{escape(tip)}</title></rect>')


def _y_axis(ticks: list[float], left: float, right: float, top: float, bottom: float, lang: str,
            label: str) -> list[str]:
    out = []
    scale = (bottom - top) / ticks[-1]
    for t in ticks:
        y = bottom - t * scale
        out.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
                   f'{escape(number(t, lang))}</text>')
    out.append(f'<text transform="translate(14 {(top + bottom) / 2:.0f}) rotate(-90)" text-anchor="middle" '
               f'fill="{MUTED}">{escape(label)}</text>')
    return out


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    out = []
    for colour, name in items:
        out.append(f'<rect x="{x:.0f}" y="{y - 10:.0f}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 18:.0f}" y="{y:.0f}">{escape(name)}</text>')
        x += 26 + 7.5 * len(name)
    return out


# --- the charts ----------------------------------------------------------------------------------


def completions_chart(days: Sequence[DayCount], lang: str = "en", chart_id: str = "completions",
                      width: int = 760, height: int = 340) -> str:
    """Interviews completed and agreements signed per day: a pair of bars per day."""
    title = text(lang, "completions.title")
    if not days:
        return _svg(chart_id, title, text(lang, "turnaround.empty"), width, 80, [])
    interviews = sum(d.interviews for d in days)
    envelopes = sum(d.envelopes for d in days)
    first, last = long_day(days[0].day, lang), long_day(days[-1].day, lang)
    if interviews or envelopes:
        busiest = max(days, key=lambda d: (d.interviews, d.envelopes))
        desc = text(lang, "completions.desc", first=first, last=last, interviews=number(interviews, lang),
                    envelopes=number(envelopes, lang), busiest=long_day(busiest.day, lang),
                    busiest_count=number(busiest.interviews, lang))
    else:
        desc = text(lang, "completions.empty", first=first, last=last)
    left, right, top, bottom = 64.0, width - 16.0, 64.0, height - 48.0
    ticks = _ticks(max(max(d.interviews for d in days), max(d.envelopes for d in days), 1))
    scale = (bottom - top) / ticks[-1]
    body = _legend(left, 46, [(BLUE, text(lang, "series.interviews")), (GREEN, text(lang, "series.envelopes"))])
    body += _y_axis(ticks, left, right, top, bottom, lang, text(lang, "axis.count"))
    slot = (right - left) / len(days)
    bar = max(min(slot * 0.38, 18), 1)
    every = max(1, math.ceil(len(days) / 12))
    for i, d in enumerate(days):
        x = left + i * slot + slot / 2
        label = long_day(d.day, lang)
        body.append(_bar(x - bar, bottom - d.interviews * scale, bar, d.interviews * scale, BLUE,
                         f"{label}: {number(d.interviews, lang)} — {text(lang, 'series.interviews')}"))
        body.append(_bar(x, bottom - d.envelopes * scale, bar, d.envelopes * scale, GREEN,
                         f"{label}: {number(d.envelopes, lang)} — {text(lang, 'series.envelopes')}"))
        if i % every == 0:
            body.append(f'<text x="{x:.1f}" y="{bottom + 16:.0f}" text-anchor="middle" fill="{MUTED}">'
                        f'{escape(day_label(d.day, lang))}</text>')
    body.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{INK}"/>')
    body.append(f'<text x="{(left + right) / 2:.0f}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">'
                f'{escape(text(lang, "axis.day"))}</text>')
    return _svg(chart_id, title, desc, width, height, body)


def turnaround_chart(t: Turnaround, kind: str = "interviews", lang: str = "en", chart_id: str | None = None,
                     width: int = 760, height: int = 320) -> str:
    """The distribution of completion times (`kind`: interviews or envelopes) in `BUCKETS`,
    each bar labelled with its share of the completions."""
    chart_id = chart_id or f"turnaround-{kind}"
    title = text(lang, f"turnaround.{kind}.title")
    if not t.count:
        return _svg(chart_id, title, text(lang, "turnaround.empty"), width, 80, [])
    desc = text(lang, "turnaround.desc", count=number(t.count, lang), median=duration(t.median_seconds, lang),
                p90=duration(t.p90_seconds, lang), same_day=percent(t.same_day_share, lang),
                within_hour=percent(t.within_hour_share, lang))
    colour = BLUE if kind == "interviews" else GREEN
    left, right, top, bottom = 64.0, width - 16.0, 72.0, height - 48.0
    ticks = _ticks(max(b.count for b in t.buckets))
    scale = (bottom - top) / ticks[-1]
    body = [f'<text x="16" y="42" fill="{MUTED}">{escape(desc)}</text>']
    body += _y_axis(ticks, left, right, top, bottom, lang, text(lang, "axis.count"))
    slot = (right - left) / len(t.buckets)
    for i, b in enumerate(t.buckets):
        x = left + i * slot
        name = text(lang, f"bucket.{b.key}")
        share = percent(b.count / t.count, lang)
        h = b.count * scale
        body.append(_bar(x + slot * 0.15, bottom - h, slot * 0.7, h, colour,
                         f"{name}: {number(b.count, lang)} ({share})"))
        if b.count:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{bottom - h - 5:.1f}" text-anchor="middle">'
                        f'{escape(share)}</text>')
        body.append(f'<text x="{x + slot / 2:.1f}" y="{bottom + 16:.0f}" text-anchor="middle" fill="{MUTED}">'
                    f'{escape(name)}</text>')
    body.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="{INK}"/>')
    body.append(f'<text x="{(left + right) / 2:.0f}" y="{height - 10}" text-anchor="middle" fill="{MUTED}">'
                f'{escape(text(lang, "axis.duration"))}</text>')
    return _svg(chart_id, title, desc, width, height, body)


def shares_chart(report: TurnaroundReport, lang: str = "en", chart_id: str = "shares", width: int = 760,
                 height: int = 220) -> str:
    """"90 % completed the same day, 71 % within an hour": horizontal bars from 0 to 100 %, for
    interviews and for agreements."""
    i, e = report.interviews, report.envelopes
    title = text(lang, "shares.title")
    desc = text(lang, "shares.desc", i_same_day=percent(i.same_day_share, lang),
                i_within_hour=percent(i.within_hour_share, lang), e_same_day=percent(e.same_day_share, lang),
                e_within_hour=percent(e.within_hour_share, lang))
    left, right = 190.0, width - 70.0
    rows = [(text(lang, "shares.same_day"), i.same_day_share, e.same_day_share),
            (text(lang, "shares.within_hour"), i.within_hour_share, e.within_hour_share)]
    body = _legend(left, 46, [(BLUE, text(lang, "series.interviews")), (GREEN, text(lang, "series.envelopes"))])
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        x = left + tick * (right - left)
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="60" y2="{height - 34}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle" fill="{MUTED}">'
                    f'{escape(percent(tick, lang))}</text>')
    y = 70.0
    for name, a, b in rows:
        body.append(f'<text x="{left - 10}" y="{y + 22:.0f}" text-anchor="end">{escape(name)}</text>')
        for share, colour, series in ((a, BLUE, "series.interviews"), (b, GREEN, "series.envelopes")):
            w = (share or 0) * (right - left)
            body.append(_bar(left, y, w, 18, colour, f"{name}, {text(lang, series)}: {percent(share, lang)}"))
            body.append(f'<text x="{left + w + 6:.1f}" y="{y + 14:.0f}">{escape(percent(share, lang))}</text>')
            y += 22
        y += 14
    return _svg(chart_id, title, desc, width, height, body)


def funnel_chart(funnel: Funnel, lang: str = "en", chart_id: str = "funnel", width: int = 760,
                 labels: dict[str, str] | None = None) -> str:
    """One row per question in the interview's order: a bar of the sessions that reached it, the
    part that stopped there (drop-off) in another colour, and the median time to answer it.
    `labels` may name the blocks (block id → question text); else the block id is shown."""
    labels = labels or {}
    title = text(lang, "funnel.title")
    share = percent(funnel.completed / funnel.started if funnel.started else None, lang)
    worst = max(funnel.steps, key=lambda s: (s.drop_off or 0, s.waiting), default=None)
    if worst is not None and worst.waiting:
        desc = text(lang, "funnel.desc", started=number(funnel.started, lang), completed=number(funnel.completed, lang),
                    share=share, worst=labels.get(worst.block, worst.block), worst_share=percent(worst.drop_off, lang))
    else:
        desc = text(lang, "funnel.desc_none", started=number(funnel.started, lang),
                    completed=number(funnel.completed, lang), share=share)
    row_h = 26
    height = 90 + row_h * max(len(funnel.steps), 1)
    left, right = 210.0, width - 240.0  # room on the right for the count and the median time
    top = 70.0
    most = max((s.reached for s in funnel.steps), default=1) or 1
    body = _legend(left, 46, [(BLUE, text(lang, "funnel.reached")), (ORANGE, text(lang, "funnel.waiting"))])
    for n, s in enumerate(funnel.steps):
        y = top + n * row_h
        name = labels.get(s.block, s.block)
        short = name if len(name) <= 30 else name[:29] + "…"
        reached_w = s.reached / most * (right - left)
        waiting_w = s.waiting / most * (right - left)
        body.append(f'<text x="{left - 8}" y="{y + 14:.0f}" text-anchor="end"><title>{escape(name)}</title>'
                    f'{escape(short)}</text>')
        body.append(_bar(left, y, reached_w, 18, BLUE, f"{name}: {text(lang, 'funnel.reached')} "
                         f"{number(s.reached, lang)}"))
        if s.waiting:
            body.append(_bar(left + reached_w - waiting_w, y, waiting_w, 18, ORANGE,
                             f"{name}: {text(lang, 'funnel.waiting')} {number(s.waiting, lang)} "
                             f"({percent(s.drop_off, lang)})"))
        body.append(f'<text x="{left + reached_w + 6:.1f}" y="{y + 14:.0f}">{escape(number(s.reached, lang))}'
                    f'</text>')
        body.append(f'<text x="{width - 12}" y="{y + 14:.0f}" text-anchor="end" fill="{MUTED}">'
                    f'{escape(text(lang, "funnel.median", median=duration(s.median_seconds, lang)))}</text>')
    return _svg(chart_id, title, desc, width, height, body)
