"""The period report and the plan: one page made of the enabled modules' sections.

The kernel owns the frame (the period, the page, the JSON, the charts' drawing); each module
answers ``report_sections`` / ``plan_sections`` with what it knows, so a disabled module simply has
no section. Sections compute their figures in SQL (GROUP BY over the period) and hand back plain
values: exact Decimals, dates, and :class:`Chart` series the page draws as inline SVG (no script,
no network: the page opens the same in a browser, an e-mail or a PDF).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from core.errors import ValidationError


@dataclass(frozen=True)
class Period:
    """What a report or a plan looks at: two dates (both included), as seen on ``today``."""

    start: dt.date
    end: dt.date
    today: dt.date
    label: str = ""
    team: object = None  # a core Team, when the report is for one team
    member_ids: tuple[int, ...] = ()  # its members' user ids
    #: the record rules of the reader: the users whose records they see (None: everyone's). ORM
    #: queries are limited by the kernel; a section written in SQL adds
    #: ``(owner IS NULL OR owner IN visible_ids)`` itself (a salesperson's report is theirs)
    visible_ids: tuple[int, ...] | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def weeks(self) -> list[dt.date]:
        """The Mondays of the weeks the period touches (the first may start before it)."""
        monday = self.start - dt.timedelta(days=self.start.weekday())
        weeks = []
        while monday <= self.end:
            weeks.append(monday)
            monday += dt.timedelta(days=7)
        return weeks

    def as_dict(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "today": self.today.isoformat(),
                "label": self.label, "team": getattr(self.team, "name", None)}


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """``2027-Q1``, ``2027-H2``, ``2027-03`` or ``2027`` into its first and last day."""
    from core.validators import FIRST_DATE, LAST_DATE

    value = text.strip()
    year = value[:4]
    if year.isdigit() and not FIRST_DATE.year <= int(year) <= LAST_DATE.year:
        raise ValidationError(f"{text!r}: the year is out of range ({FIRST_DATE.year} to {LAST_DATE.year})",
                              record="plan", field="period")
    if m := _QUARTER.match(value):
        year, first = int(m[1]), 3 * int(m[2]) - 2
        return dt.date(year, first, 1), _month_end(year, first + 2)
    if m := _HALF.match(value):
        year, first = int(m[1]), 6 * int(m[2]) - 5
        return dt.date(year, first, 1), _month_end(year, first + 5)
    if (m := _MONTH.match(value)) and 1 <= int(m[2]) <= 12:
        return dt.date(int(m[1]), int(m[2]), 1), _month_end(int(m[1]), int(m[2]))
    if m := _YEAR.match(value):
        return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)
    raise ValidationError(f"{text!r} is not a period: write 2027-Q1, 2027-H1, 2027-03 or 2027",
                          record="plan", field="period")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def make_period(session, start: dt.date, end: dt.date, today: dt.date, *, team: str | None = None,
                label: str = "") -> Period:
    """A validated period, with the team and its members looked up by name, for what the reader may see."""
    from sqlalchemy import select

    from core.models import TeamMember
    from core.recordrules import visible_users
    from core.security import current_actor
    from core.services.people import get_team

    if start > end:
        raise ValidationError(f"{start} is after {end}", record="report", field="from")
    found, members = None, ()
    if team:
        found = get_team(session, team)
        members = tuple(session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == found.id)))
    visible = visible_users(current_actor(session.info["app"], session))
    return Period(start, end, today, label or f"{start.isoformat()} – {end.isoformat()}", found, members, visible)


@dataclass
class Chart:
    """A series to draw: ``points`` are (label, value); ``unit`` says how values are written.

    ``kind`` is ``columns`` (a time series: revenue per week) or ``bars`` (categories side by side,
    drawn horizontally: the funnel's stages, aging buckets, products below their minimum).
    """

    title: str
    points: list[tuple[str, Decimal | int]]
    unit: str = "number"  # number | money | percent
    kind: str = "columns"

    WIDTH = 640
    HEIGHT = 180

    def columns(self) -> list[dict]:
        """Geometry of vertical columns in a WIDTH × HEIGHT box (a 20 px band below for labels)."""
        top = max((Decimal(v) for _, v in self.points), default=Decimal(0))
        if not self.points:
            return []
        step = Decimal(self.WIDTH) / len(self.points)
        width = max(step * Decimal("0.7"), Decimal(1))
        out = []
        for index, (label, value) in enumerate(self.points):
            height = (Decimal(value) / top * self.HEIGHT) if top > 0 and value > 0 else Decimal(0)
            out.append({"x": _px(step * index + (step - width) / 2), "y": _px(self.HEIGHT - height),
                        "width": _px(width), "height": _px(height), "label": label, "value": value,
                        "label_x": _px(step * index + step / 2)})
        return out

    def bars(self) -> list[dict]:
        """Geometry of horizontal bars, one 24 px row each, scaled to the widest."""
        top = max((Decimal(v) for _, v in self.points), default=Decimal(0))
        return [{"y": index * 24, "width": _px(Decimal(value) / top * 360) if top > 0 and value > 0 else 0,
                 "label": label, "value": value} for index, (label, value) in enumerate(self.points)]

    @property
    def height(self) -> int:
        return self.HEIGHT + 24 if self.kind == "columns" else max(len(self.points), 1) * 24

    def as_dict(self) -> dict:
        return {"title": self.title, "unit": self.unit, "kind": self.kind,
                "points": [{"label": label, "value": value} for label, value in self.points]}


def _px(value) -> str:
    return f"{Decimal(value):.1f}"


@dataclass
class Section:
    """One module's part of a report or plan.

    :param key: stable name, the section's key in the JSON (``"billing"``).
    :param title: English title (translated on the page through the module's PO file).
    :param template: the HTML fragment drawing it, rendered with ``section``, ``period`` and ``data``.
    :param data: the figures, JSON-ready (Decimals and dates are written as strings).
    :param summary: (label, value) pairs for the terminal.
    :param charts: drawn by the template with ``{{ chart(section.charts.name) }}``.
    """

    key: str
    title: str
    template: str
    data: dict
    order: int = 50
    summary: list[tuple[str, str]] = field(default_factory=list)
    charts: dict[str, Chart] = field(default_factory=dict)


@dataclass
class Report:
    kind: str  # "report" | "plan"
    period: Period
    sections: list[Section]

    def as_dict(self) -> dict:
        return {"kind": self.kind, "period": self.period.as_dict(),
                "sections": {s.key: {**s.data, "charts": {k: c.as_dict() for k, c in s.charts.items()}}
                             for s in self.sections}}


def build(app, hook: str, period: Period, session) -> Report:
    """Ask every enabled module for its sections (``report_sections`` or ``plan_sections``).

    A plan also gets the kernel's cash section, made of the modules' ``plan_cash`` answers.
    """
    sections: list[Section] = []
    for result in app.call(hook, app=app, session=session, period=period):
        sections.extend(result if isinstance(result, (list, tuple)) else [result])
    if hook == "plan_sections":
        from core.cashplan import cash_section

        cash = cash_section(app, session, period)
        sections.extend([cash] if cash is not None else [])
    keys = [s.key for s in sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValidationError(f"two modules gave a section named {duplicates[0]!r}", record=hook, field="key")
    sections.sort(key=lambda s: (s.order, s.key))
    return Report("report" if hook == "report_sections" else "plan", period, sections)


def render_html(app, report: Report, *, locale: str | None = None) -> str:
    """The whole page: the kernel's frame around each section's own template."""
    from core.rendering import render

    return render(app, "core/report.html", locale=locale, report=report, period=report.period)
