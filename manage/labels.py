"""The words of the reports' charts and summaries, in English and Vietnamese.

`manage` must not import `web` (where the pages' catalog lives), and a chart is drawn on the
server, so its text is translated here: a small table per language, looked up by key, with
`{name}` placeholders filled by the caller (numbers and dates already formatted by Babel)."""

from __future__ import annotations

LANGUAGES = ("en", "vi")

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "completions.title": "Completions per day",
        "completions.desc": "From {first} to {last}: {interviews} interviews and {envelopes} agreements completed. "
                            "Busiest day: {busiest} ({busiest_count} interviews).",
        "completions.empty": "Nothing was completed from {first} to {last}.",
        "series.interviews": "Interviews completed",
        "series.envelopes": "Agreements signed",
        "axis.day": "Day",
        "axis.count": "Number completed",
        "turnaround.interviews.title": "Time to complete the interview",
        "turnaround.envelopes.title": "Time from sending to all signatures",
        "turnaround.desc": "{count} completed. Median {median}; 90% within {p90}. "
                           "{same_day} completed the same day, {within_hour} within an hour.",
        "turnaround.empty": "Nothing completed in this period.",
        "axis.duration": "Time taken",
        "axis.share": "Share of completions",
        "shares.title": "Completed the same day and within an hour",
        "shares.desc": "Interviews: {i_same_day} the same day, {i_within_hour} within an hour. "
                       "Agreements: {e_same_day} the same day, {e_within_hour} within an hour.",
        "shares.same_day": "Same day",
        "shares.within_hour": "Within an hour",
        "funnel.title": "Interview funnel",
        "funnel.desc": "{started} sessions started, {completed} completed ({share}). "
                       "Largest drop-off: {worst} ({worst_share} stopped there).",
        "funnel.desc_none": "{started} sessions started, {completed} completed ({share}).",
        "funnel.reached": "Reached",
        "funnel.waiting": "Stopped here",
        "funnel.median": "median {median}",
        "axis.question": "Question",
        "axis.sessions": "Sessions",
        "bucket.lt_5m": "< 5 min",
        "bucket.5m_15m": "5–15 min",
        "bucket.15m_1h": "15–60 min",
        "bucket.1h_4h": "1–4 h",
        "bucket.4h_1d": "4–24 h",
        "bucket.1d_3d": "1–3 days",
        "bucket.3d_7d": "3–7 days",
        "bucket.gt_7d": "> 7 days",
        "none": "—",
    },
    "vi": {
        "completions.title": "Số hồ sơ hoàn tất mỗi ngày",
        "completions.desc": "Từ {first} đến {last}: {interviews} bảng hỏi và {envelopes} thỏa thuận đã hoàn tất. "
                            "Ngày nhiều nhất: {busiest} ({busiest_count} bảng hỏi).",
        "completions.empty": "Không có hồ sơ nào hoàn tất từ {first} đến {last}.",
        "series.interviews": "Bảng hỏi hoàn tất",
        "series.envelopes": "Thỏa thuận đã ký",
        "axis.day": "Ngày",
        "axis.count": "Số lượng hoàn tất",
        "turnaround.interviews.title": "Thời gian hoàn tất bảng hỏi",
        "turnaround.envelopes.title": "Thời gian từ lúc gửi đến khi ký đủ",
        "turnaround.desc": "{count} hồ sơ hoàn tất. Trung vị {median}; 90% trong vòng {p90}. "
                           "{same_day} hoàn tất trong ngày, {within_hour} trong vòng một giờ.",
        "turnaround.empty": "Không có hồ sơ nào hoàn tất trong khoảng thời gian này.",
        "axis.duration": "Thời gian",
        "axis.share": "Tỷ lệ hoàn tất",
        "shares.title": "Hoàn tất trong ngày và trong vòng một giờ",
        "shares.desc": "Bảng hỏi: {i_same_day} trong ngày, {i_within_hour} trong vòng một giờ. "
                       "Thỏa thuận: {e_same_day} trong ngày, {e_within_hour} trong vòng một giờ.",
        "shares.same_day": "Trong ngày",
        "shares.within_hour": "Trong vòng một giờ",
        "funnel.title": "Phễu bảng hỏi",
        "funnel.desc": "{started} phiên đã bắt đầu, {completed} đã hoàn tất ({share}). "
                       "Bỏ dở nhiều nhất: {worst} ({worst_share} dừng lại ở đó).",
        "funnel.desc_none": "{started} phiên đã bắt đầu, {completed} đã hoàn tất ({share}).",
        "funnel.reached": "Đã đến",
        "funnel.waiting": "Dừng ở đây",
        "funnel.median": "trung vị {median}",
        "axis.question": "Câu hỏi",
        "axis.sessions": "Số phiên",
        "bucket.lt_5m": "< 5 phút",
        "bucket.5m_15m": "5–15 phút",
        "bucket.15m_1h": "15–60 phút",
        "bucket.1h_4h": "1–4 giờ",
        "bucket.4h_1d": "4–24 giờ",
        "bucket.1d_3d": "1–3 ngày",
        "bucket.3d_7d": "3–7 ngày",
        "bucket.gt_7d": "> 7 ngày",
        "none": "—",
    },
}


def text(lang: str, key: str, **values: str) -> str:
    """The text for `key` in `lang` (English when the language is not one of ours)."""
    table = TEXT.get(lang, TEXT["en"])
    return table[key].format(**values) if values else table[key]
