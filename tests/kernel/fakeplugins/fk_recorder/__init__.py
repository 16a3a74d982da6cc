"""Test plugin: implements every kernel hook and records which were called (and with what)."""

from core.hookspecs import hookimpl

MANIFEST = {"name": "fk_recorder", "version": "1.0", "summary": "records hook calls", "depends": [],
            "migrations": None}

CALLS: dict[str, set] = {}


def _seen(name, **arguments):
    CALLS.setdefault(name, set()).update(arguments)


@hookimpl
def register_models():
    _seen("register_models")


@hookimpl
def register_commands(cli):
    _seen("register_commands", cli=cli)


@hookimpl
def register_routes(register):
    _seen("register_routes", register=register)


@hookimpl
def register_data_kinds(register):
    _seen("register_data_kinds", register=register)


@hookimpl
def register_template_dirs():
    _seen("register_template_dirs")
    return []


@hookimpl
def register_documents(register):
    _seen("register_documents", register=register)


@hookimpl
def register_jobs(register):
    _seen("register_jobs", register=register)


@hookimpl
def register_channels(register):
    _seen("register_channels", register=register)


@hookimpl
def register_settings(register):
    _seen("register_settings", register=register)


@hookimpl
def register_permissions(register):
    _seen("register_permissions", register=register)


@hookimpl
def register_record_rules(register):
    _seen("register_record_rules", register=register)


@hookimpl
def register_fields(register):
    _seen("register_fields", register=register)


@hookimpl
def install(app, session):
    _seen("install", app=app, session=session)


@hookimpl
def partner_created(app, session, partner):
    _seen("partner_created", app=app, session=session, partner=partner)


@hookimpl
def partner_updated(app, session, partner, changes):
    _seen("partner_updated", app=app, session=session, partner=partner, changes=changes)


@hookimpl
def order_confirmed(app, session, order):
    _seen("order_confirmed", app=app, session=session, order=order)


@hookimpl
def order_delivered(app, session, order):
    _seen("order_delivered", app=app, session=session, order=order)


@hookimpl
def order_cancelled(app, session, order, reason):
    _seen("order_cancelled", app=app, session=session, order=order, reason=reason)


@hookimpl
def report_sections(app, session, period):
    _seen("report_sections", app=app, session=session, period=period)


@hookimpl
def plan_sections(app, session, period):
    _seen("plan_sections", app=app, session=session, period=period)


@hookimpl
def plan_cash(app, session, period):
    _seen("plan_cash", app=app, session=session, period=period)


@hookimpl
def expected_demand(app, session, start, end):
    _seen("expected_demand", app=app, session=session, start=start, end=end)
    return []


@hookimpl
def partner_account(app, session, partner):
    _seen("partner_account", app=app, session=session, partner=partner)
