"""The kernel's web pages: a customer's account (every module's section), the period report, the plan.

The report and the plan are the very HTML ``crm report period --html`` and ``crm plan --html`` write.
"""

from __future__ import annotations

from flask import current_app, request

from core.api.http import app as crm
from core.api.http import requires, session
from core.api.pages import Pages, page, render_page

pages = Pages("core_pages", __name__, menu=[("Period report", "core_pages.report"), ("Plan", "core_pages.plan")],
              order=90)


@pages.get("/partners/<ref>/account")
@requires("core.read")
@page
def account(ref):
    """A customer's account (``crm partner account``): each enabled module's summary and tables."""
    from core.services.partners import account_sections, get_partner

    partner = get_partner(session(), ref)
    sections = account_sections(crm(), session(), partner)
    return render_page("core/web/account.html", title=f"Account of {partner.name}", partner=partner,
                       sections=[{"title": s.title, "key": s.key, "summary": list(s.summary),
                                  "tables": [{"title": t, "rows": rows, "columns": columns}
                                             for t, rows, columns in s.tables]} for s in sections])


@pages.get("/report")
@requires("core.read")
@page
def report():
    """The period report (``?from=&to=&team=``; default: the month to date), as ``crm report period --html``."""
    from core.reports import parse_period

    today = crm().today
    start, end = parse_period(today.strftime("%Y-%m"))
    start = _day("from", start)
    end = _day("to", min(end, today) if "from" not in request.args else end)
    return _html("report_sections", start, end)


@pages.get("/plan")
@requires("core.read")
@page
def plan():
    """The plan of a coming period (``?period=2027-Q1``; default: next month), as ``crm plan --html``."""
    import datetime as dt

    from core.reports import parse_period

    today = crm().today
    label = request.args.get("period") or (today.replace(day=28) + dt.timedelta(days=4)).strftime("%Y-%m")
    start, end = parse_period(label)
    return _html("plan_sections", start, end, label=label.upper())


def _day(name: str, default):
    import datetime as dt

    from core.errors import ValidationError

    text = request.args.get(name)
    if not text:
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not a date (YYYY-MM-DD)", field=name) from None


def _html(hook: str, start, end, *, label: str = ""):
    from core.reports import build, make_period, render_html

    period = make_period(session(), start, end, crm().today, team=request.args.get("team") or None, label=label)
    html = render_html(crm(), build(crm(), hook, period, session()))
    return current_app.response_class(html, mimetype="text/html")
