"""Reports: time per person against budget and findings by category, as CSV, JSON or a PNG chart."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

from bot.policy.time import TimeRules
from bot.services.time_budget import usage_by_day
from bot.store.base import TimeStore

Period = Literal["week", "month"]


@dataclass(frozen=True, slots=True)
class PersonTotal:
    """One person's time over the report's days: logged, estimated, and the budget for them."""

    user_id: str
    minutes: int
    budget: int
    logged_minutes: int
    estimated_minutes: int
    drafts: int
    days_over: int

    @property
    def over(self) -> int:
        """Return the minutes over the period's budget (0 when within)."""
        return max(0, self.minutes - self.budget)


@dataclass(frozen=True, slots=True)
class Report:
    """Time per person against budget and findings by category for local days first..last."""

    period: str
    first: date
    last: date
    timezone: str
    working_days: int
    people: tuple[PersonTotal, ...]
    findings_by_category: dict[str, int]
    drafts: int

    def to_dict(self) -> dict[str, Any]:
        """Return the report as the JSON object of `social-review report --format json`."""
        return {
            "period": self.period,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "timezone": self.timezone,
            "working_days": self.working_days,
            "drafts": self.drafts,
            "people": [{**asdict(p), "over": p.over} for p in self.people],
            "findings_by_category": dict(sorted(self.findings_by_category.items())),
        }


def period_bounds(rules: TimeRules, today: date, period: Period) -> tuple[date, date]:
    """Return the first and last local day of the current week (Mon–Sun) or month."""
    if period == "week":
        monday = rules.week_start(today)
        return monday, monday + timedelta(days=6)
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return first, next_month - timedelta(days=1)


def build_report(
    store: TimeStore, rules: TimeRules, first: date, last: date, period: str = "custom"
) -> Report:
    """Add up time and findings over local days first..last."""
    working = rules.working_days_between(first, last)
    usage = usage_by_day(store, rules, first, last)
    totals: dict[str, dict[str, int]] = {}
    for day_usage in usage.values():
        for u in day_usage.values():
            t = totals.setdefault(
                u.user_id, {"minutes": 0, "logged": 0, "estimated": 0, "drafts": 0, "over": 0}
            )
            t["minutes"] += u.minutes
            t["logged" if u.source == "logged" else "estimated"] += u.minutes
            t["drafts"] += u.drafts
            t["over"] += u.over > 0
    budget = rules.policy.budget
    people = tuple(
        sorted(
            (
                PersonTotal(
                    user_id=user,
                    minutes=t["minutes"],
                    budget=budget.for_user(user) * len(working),
                    logged_minutes=t["logged"],
                    estimated_minutes=t["estimated"],
                    drafts=t["drafts"],
                    days_over=t["over"],
                )
                for user, t in totals.items()
            ),
            key=lambda p: (-p.minutes, p.user_id),
        )
    )
    start, _ = rules.day_bounds(first)
    _, end = rules.day_bounds(last)
    return Report(
        period=period,
        first=first,
        last=last,
        timezone=rules.policy.timezone,
        working_days=len(working),
        people=people,
        findings_by_category=store.findings_by_category(start, end),
        drafts=len(store.drafts_between(start, end)),
    )


CSV_HEADER = [
    "section",
    "name",
    "minutes",
    "budget",
    "over",
    "logged_minutes",
    "estimated_minutes",
    "drafts",
    "days_over",
    "findings",
]


def report_csv(report: Report) -> str:
    """Return the report as CSV: one `person` row each, then one `category` row each."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for p in report.people:
        writer.writerow(
            [
                "person",
                p.user_id,
                p.minutes,
                p.budget,
                p.over,
                p.logged_minutes,
                p.estimated_minutes,
                p.drafts,
                p.days_over,
                "",
            ]
        )
    for category, count in sorted(report.findings_by_category.items()):
        writer.writerow(["category", category, "", "", "", "", "", "", "", count])
    return out.getvalue()


def report_json(report: Report) -> str:
    """Return the report as pretty JSON."""
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


_CHART_TEXT = {
    "title": {
        "ja": "SNS にかけた時間 {first} – {last}",
        "en": "Social-media time {first} – {last}",
    },
    "time": {"ja": "1人あたりの時間（分）と予算", "en": "Minutes per person vs budget"},
    "budget": {"ja": "予算", "en": "budget"},
    "logged": {"ja": "記録", "en": "logged"},
    "estimated": {"ja": "推定（下書き数から）", "en": "estimated (from drafts)"},
    "findings": {"ja": "カテゴリ別の指摘", "en": "Findings by category"},
    "nobody": {"ja": "記録なし", "en": "nothing recorded"},
    "none": {"ja": "指摘なし", "en": "no findings"},
}


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    for font in font_manager.fontManager.ttflist:
        if any(
            k in font.name
            for k in (
                "Noto Sans CJK",
                "Noto Sans JP",
                "IPAexGothic",
                "IPAGothic",
                "TakaoGothic",
                "Hiragino",
                "Yu Gothic",
                "Meiryo",
            )
        ):
            return font.name
    return None


def report_png(report: Report, locale: str, names: dict[str, str] | None = None) -> bytes:
    """Draw the report as a two-panel PNG chart (matplotlib, imported only here)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = _cjk_font()
    if locale == "ja" and font is None:
        locale = "en"  # no Japanese font installed: English labels beat boxes of tofu
    if font:
        plt.rcParams["font.family"] = font

    def t(key: str, **kw: Any) -> str:
        return _CHART_TEXT[key][locale].format(**kw)

    names = names or {}
    people = list(reversed(report.people))  # barh draws bottom-up: largest on top
    height = max(3.0, 0.5 * len(people) + 1.5) + max(2.5, 0.4 * len(report.findings_by_category))
    fig, (ax_time, ax_cat) = plt.subplots(
        2, 1, figsize=(9, height), gridspec_kw={"height_ratios": [max(1, len(people)), 1]}
    )
    fig.suptitle(t("title", first=report.first.isoformat(), last=report.last.isoformat()))
    if people:
        labels = [names.get(p.user_id, p.user_id) for p in people]
        y = range(len(people))
        logged = [p.logged_minutes for p in people]
        estimated = [p.estimated_minutes for p in people]
        over_color = ["#d62828" if p.over else "#457b9d" for p in people]
        ax_time.barh(y, logged, color=over_color, label=t("logged"))
        ax_time.barh(y, estimated, left=logged, color="#a8dadc", hatch="//", label=t("estimated"))
        for i, p in enumerate(people):
            ax_time.plot(
                [p.budget, p.budget],
                [i - 0.4, i + 0.4],
                color="black",
                linewidth=2,
                label=t("budget") if i == 0 else None,
            )
            ax_time.text(p.minutes, i, f" {p.minutes}/{p.budget}", va="center")
        ax_time.set_yticks(list(y), labels)
        ax_time.legend(loc="lower right")
    else:
        ax_time.text(0.5, 0.5, t("nobody"), ha="center", va="center")
        ax_time.set_yticks([])
    ax_time.set_title(t("time"))
    cats = sorted(report.findings_by_category.items(), key=lambda kv: kv[1])
    if cats:
        ax_cat.barh([c for c, _ in cats], [n for _, n in cats], color="#e9c46a")
        for i, (_, n) in enumerate(cats):
            ax_cat.text(n, i, f" {n}", va="center")
    else:
        ax_cat.text(0.5, 0.5, t("none"), ha="center", va="center")
        ax_cat.set_yticks([])
    ax_cat.set_title(t("findings"))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
