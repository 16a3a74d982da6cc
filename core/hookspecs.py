"""The hook specifications: every door between the kernel and the modules.

Plugins implement these with the ``hookimpl`` marker::

    from core.hookspecs import hookimpl

    @hookimpl
    def order_confirmed(app, session, order):
        ...

An implementation may accept any subset of a hook's arguments. Hooks are called in the reverse
order of registration (pluggy's rule) unless ``tryfirst``/``trylast`` says otherwise. Hooks that
run inside a command's transaction (the events) share its session: an exception rolls the whole
command back, and the error names the plugin and the hook. Compatibility policy: arguments are
added, never removed or renamed; a hook to be retired is deprecated with a warning first.
"""

from __future__ import annotations

import pluggy

PROJECT = "entonnoir"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --- Registration: called once per process, outside any transaction -------------------------

@hookspec
def register_models():
    """Give the kernel the modules that declare this plugin's tables.

    Called when the app needs the full metadata of the enabled modules (``crm migrate --check``,
    the test suite's model/migration comparison), outside any transaction.

    Tables are declared on :class:`core.db.Base` and prefixed with the module name
    (``billing_invoice``); they are created by the module's own Alembic branch, not from these
    models.

    :returns: an iterable of Python modules (or model classes); results of all plugins are merged.

    Example::

        @hookimpl
        def register_models():
            from my_plugin import models
            return [models]
    """


@hookspec
def register_commands(cli):
    """Add this plugin's command groups to the ``crm`` command line.

    Called once while the CLI is built, before arguments are parsed, outside any transaction.
    Keep the import cheap: import models and services inside the command functions, so
    ``crm --help`` stays fast. A group named ``export`` does not replace the kernel's: its
    subcommands join ``crm export`` (billing's ``crm export fec`` beside ``crm export KIND``); a
    subcommand name two modules take is an error naming both. Faster still, and what the built-in
    modules do: name the commands in the manifest (``"commands": {"hold": "my_plugin.cli:hold"}``)
    instead of implementing this hook; the CLI then lists them (with their docstrings, read from
    the source) without importing the plugin, and imports a command's module only when it runs.
    The hook is called only for modules whose manifest has no ``commands``.

    :param cli: the root :class:`click.Group`; call ``cli.add_command(group)``.
    :returns: nothing.

    Example::

        @hookimpl
        def register_commands(cli):
            from my_plugin.cli import hold
            cli.add_command(hold)
    """


@hookspec
def register_routes(register):
    """Add this module's HTTP endpoints to ``crm serve`` (the JSON API, docs/api.md).

    Called once per server process while the web application is built, outside any transaction;
    import Flask and the module's services inside the hook, so the CLI never pays for them.
    Each request to a route runs in one transaction as the token's user, with that user's rights
    and record rules: the view calls the same services as the module's commands (which call
    :func:`core.security.require`) and takes the session from :func:`core.api.http.session`;
    errors become problem details. Every route declares its response schema (and its body's,
    with :func:`core.api.http.body`): the OpenAPI document at ``/openapi.json`` is checked.

    :param register: call ``register(blueprint)`` with a :class:`flask_smorest.Blueprint`
        (re-exported by :mod:`core.api.http`) whose ``url_prefix`` starts with ``/api/v1/``; its
        name must be unique across modules.
    :returns: nothing.

    Example::

        @hookimpl
        def register_routes(register):
            from my_plugin.api import blp
            register(blp)
    """


@hookspec
def register_data_kinds(register):
    """Declare the kinds of records this plugin can import from and export to CSV.

    Called when ``crm import KIND FILE`` or ``crm export KIND`` looks up KIND, outside any
    transaction (the import or export then runs in one transaction of its own).

    :param register: call ``register(kind)`` with a :class:`core.importexport.DataKind` for each
        kind (a name such as ``"leads"``, a marshmallow schema that validates one row, a function
        that writes the validated rows, and one that yields the rows to export). A name taken by
        two plugins is an error naming both.
    :returns: nothing.

    Example::

        @hookimpl
        def register_data_kinds(register):
            register(DataKind(name="holds", schema=HoldSchema, write=write_hold,
                              export=export_holds, columns=("partner", "reason"), key="partner"))
    """


@hookspec
def register_template_dirs():
    """Give the folders holding this plugin's jinja2 templates.

    Called once when the template environment is built, outside any transaction. The business's
    override folder (``[templates] folder`` in ``crm.toml``) is searched before every plugin's.

    :returns: an iterable of :class:`pathlib.Path`; results of all plugins are merged.

    Example::

        @hookimpl
        def register_template_dirs():
            return [Path(__file__).parent / "templates"]
    """


@hookspec
def register_documents(register):
    """Declare the printable documents this module makes (invoice, purchase order, letter...).

    Called once per process when a document is first asked for, outside any transaction. A
    document kind renders one record as HTML through the template environment; the kernel turns
    that HTML into PDF (WeasyPrint) and attaches it to notifications that name it.

    :param register: call ``register(kind)`` with a :class:`core.documents.DocumentKind`: a
        ``name`` (``"billing.invoice"``), a ``summary``, and ``render(app, session, ref, locale)``
        returning a :class:`core.documents.Document` (title, file name, HTML). Optional:
        ``reader_locale(app, session, ref)`` (the reader's locale) and ``read(app, session, refs,
        locale)`` (many records at once, as plain :class:`core.documents.Page` items that worker
        processes lay out; see docs/plugins.md). A name taken twice is an error naming both modules.
    :returns: nothing.

    Example::

        @hookimpl
        def register_documents(register):
            register(DocumentKind("holds.notice", "notice of a credit hold", render=render_notice))
    """


@hookspec
def register_jobs(register):
    """Declare this plugin's scheduled jobs (the reminder run, the reorder run...).

    Called when ``crm jobs`` builds its list, outside any transaction.

    Each job declares how the days it missed (an outage, a stopped worker) are made up by
    ``crm jobs run --catch-up`` and by ``crm jobs worker``, with ``catch_up``:

    - ``"replay"`` (the default): each missed day is run in order, for effects that belong to a
      day (a daily snapshot, a day's accruals); the catch-up stops at the first day that fails;
    - ``"latest"``: one run as of today, and the job catches up by itself (the reminder run sends
      only the highest level now due, one digest lists everything overdue, the reorder run orders
      what today's forecast needs), so an outage never turns into a burst of messages.

    Within one run, the jobs that write messages run before outbox delivery (a ``sweep``), which
    then sends what they wrote. A business date after the calendar date is refused unless
    ``--allow-future`` or ``[jobs] allow_future_dates = true``.

    :param register: call ``register(job)`` with a :class:`core.jobs.Job` (a name unique across
        modules, a schedule, ``catch_up``, and ``run(app, session, as_of)``). Two plugins
        registering the same name is an error naming both; an unknown ``catch_up`` is an error
        naming the job.
    :returns: nothing.

    Example::

        @hookimpl
        def register_jobs(register):
            register(Job(name="holds.expire", run=expire_holds, catch_up="latest",
                         summary="lift holds past their end date"))
    """


@hookspec
def register_channels(register):
    """Declare delivery channels for the notification outbox (SMS, chat, a fax gateway...).

    Called when a delivery run starts, outside any transaction. The kernel registers ``file``,
    ``smtp`` and ``webhook`` this way itself.

    :param register: call ``register(channel)`` with a :class:`core.channels.Channel` (a name, and
        ``open(app)`` returning a sender with ``send(message)`` and ``close()``). ``send`` raises on
        failure; the outbox retries with backoff and parks the message after too many attempts.
        A name taken twice is an error naming both modules.
    :returns: nothing.

    Example::

        @hookimpl
        def register_channels(register):
            register(Channel("sms", SmsSender, "text messages through the SMS gateway"))
    """


@hookspec
def register_settings(register):
    """Declare the schema of this module's section of ``crm.toml`` (``[billing]``...).

    Called when the app loads its modules, before any command runs, outside any transaction. The
    kernel checks the module's section with the schema then: an unknown key is refused with the
    closest valid key suggested (``billing.post_on_confirn: unknown key (did you mean
    post_on_confirm?)``), a wrong type or value names its key, a key that would hold a secret
    (``password``, ``token``...) is refused, and every command stops there with the real cause.
    ``app.config.section(name)`` then returns the checked section with the schema's defaults, and
    ``crm config set`` parses a typed value with the schema. The kernel checks its own sections
    (``[modules]``, ``[database]``, ``[company]``, ``[notifications]``, ``[jobs]``,
    ``[templates]``) with :mod:`core.configschema`, whose field types (``Boolean``,
    ``WholeNumber``, ``Text``, ``Amount``, ``ChannelName``...) a module's schema uses too; a module
    that declares nothing has its section handed over unchecked.

    :param register: call ``register(section, schema)`` with the section's name, which must be the
        module's own, and a marshmallow ``Schema`` (class or instance; derive it from
        :class:`core.configschema.SettingsSchema` so unknown keys are refused). Anything else, or
        a section two modules register, is an error naming the module.
    :returns: nothing.

    Example::

        @hookimpl
        def register_settings(register):
            from core.configschema import Boolean, SettingsSchema

            class CreditHoldSettings(SettingsSchema):
                hold_on_overdue = Boolean(load_default=True)

            register("credit_hold", CreditHoldSettings)
    """


@hookspec
def register_permissions(register):
    """Declare the rights this module's actions need, the built-in roles holding them, and its commands.

    Called once per process the first time a right is checked (every command but ``init``,
    ``migrate``, ``demo``, ``plugin new`` and ``hooks`` checks one at its door), outside any
    transaction. The services call :func:`core.security.require` with these names before they
    write, so the CLI, the jobs and any other door ask the same question. Every command a module
    adds must be listed under exactly one right: the test suite runs each command as each built-in
    role against docs/permissions.md, and an unlisted command runs for admins only.

    :param register: call ``register(Permission(name, summary, roles=(...), commands=(...)))`` with a
        :class:`core.security.Permission` per right; names are ``module.thing.action`` and unique
        (a name two modules register is an error naming both). ``roles`` are built-in role names
        (``sales``, ``sales_manager``, ``collections``, ``purchasing``, ``accountant``, ``system``;
        ``admin`` holds every right); ``commands`` are command paths such as ``"invoice credit"``.
    :returns: nothing.

    Example::

        @hookimpl
        def register_permissions(register):
            from core.security import Permission

            register(Permission("credit_hold.release", "Release a customer's credit hold",
                                roles=("accountant",), commands=("hold release",)))
    """


@hookspec
def register_record_rules(register):
    """Declare which user owns each row of this module's entities, for roles limited to their records.

    Called once per process the first time a limited actor (a role whose scope is ``own`` or
    ``team``, such as ``sales`` and ``sales_manager``) queries the database, outside any
    transaction. The kernel adds the rule to every ORM query of that actor as a SQL filter (lists,
    shows, reports, exports, updates): ``own`` sees the rows it owns, ``team`` those of its teams'
    members; a row without an owner is seen by all. A row outside the rule does not exist for
    them ("not found"), and a flush refuses to give a row to, or change one of, a user they do
    not see. A section of ``report_sections`` written in SQL limits itself with
    ``period.visible_ids``.

    :param register: call ``register(RecordRule(name, model, owner))`` with a
        :class:`core.security.RecordRule`: ``model`` a mapped class, ``owner`` the name of its
        column holding a ``core_user`` id; or ``RecordRule(name, model, owner, follows=Other)``
        where ``owner`` holds the id of an ``Other`` row (a rule of its own): the row is seen by
        whoever sees that one (a note follows its customer: ``follows=core.models.Partner``).
    :returns: nothing.

    Example::

        @hookimpl
        def register_record_rules(register):
            from core.models import Partner
            from core.security import RecordRule
            from my_plugin.models import Note, Visit

            register(RecordRule("my_plugin.visit", Visit, owner="owner_id"))
            register(RecordRule("my_plugin.note", Note, owner="partner_id", follows=Partner))
    """

# --- Life cycle ---------------------------------------------------------------------------------

@hookspec
def register_fields(register):
    """Add fields to records this module does not own, or make its own entity extensible.

    Called once per process, the first time a record's fields are needed (a ``show``, a ``list``,
    an import, a document), outside any transaction. The kernel's entities are extensible:
    ``partner``, ``contact``, ``product``, ``order``, ``order_line``, ``user``, ``team``.

    :param register: call ``register(item)`` with

        - a :class:`core.extensions.Extension`: the ``entity`` it extends, the module's own
          ``table`` (one row per record, keyed by the record's id in column ``key``, created by
          the module's migration, so disabling the module keeps its values and the kernel's tables
          never change), its :class:`core.extensions.Field` items (a name, a marshmallow field with
          its type, validation, default and choices, a label and help per language, ``required``,
          ``listed``, ``searchable``, ``printed``), read-only :class:`core.extensions.Computed`
          fields (a SQL query giving ``record_id, value`` for every record at once), and an
          optional ``check(app, session, record, changes)`` that refuses a change of the record
          by raising :class:`core.errors.CrmError`, inside the change's transaction (the command
          is rolled back and the message names the module: ``plugin 'credit_hold' refused
          partner "Dupont SA": credit_hold.limit: ...``);
        - a :class:`core.extensions.Extensible` naming an entity of this module that others may
          extend (billing's ``invoice``).

        Extending an entity no enabled module declares, or one twice, is an error naming the module.
    :returns: nothing.

    The fields then appear everywhere the record does: ``--set module.field=VALUE`` on its
    commands, ``show`` and ``--json`` (nested under the module's name), ``list`` (when
    ``listed``), CSV import and export (``module.field`` columns), documents
    (``extensions.module.field`` when ``printed``); :func:`core.extensions.entity_schema` gives the
    marshmallow schema of the entity with every extension.

    Example::

        @hookimpl
        def register_fields(register):
            from marshmallow import fields, validate
            from core.extensions import Extension, Field
            from entonnoir_credit_hold.models import PartnerCredit

            register(Extension("partner", PartnerCredit, key="partner_id", fields=(
                Field("limit", fields.Decimal(places=2, as_string=True, validate=validate.Range(min=0)),
                      label={"en": "Credit limit", "fr": "Plafond de crédit"}, listed=True),)))
    """


@hookspec
def install(app, session):
    """Seed this module's data right after it is enabled and its tables are migrated in.

    Called only on the module being enabled (never on the others), inside the transaction of
    ``crm modules enable`` (or ``crm init --modules``): raising undoes the seed data and the
    module stays disabled. Called again if the module is disabled and enabled again, so it must
    not duplicate what is already there.

    :param app: the :class:`core.app.App`.
    :param session: the SQLAlchemy session of the enabling transaction.
    :returns: nothing.

    Example::

        @hookimpl
        def install(app, session):
            if not session.scalar(select(func.count()).select_from(Stage)):
                session.add_all(default_stages())
    """


# --- Domain events: called inside the command's transaction ------------------------------------

@hookspec
def partner_created(app, session, partner):
    """A partner (customer and/or supplier) was created.

    Called inside the creating transaction, after the row is flushed (its id is known); raising
    rolls the creation back.

    :param partner: the :class:`core.models.Partner`.
    :returns: nothing.

    Example::

        @hookimpl
        def partner_created(app, session, partner):
            if partner.is_customer:
                session.add(CustomerTerm(partner_id=partner.id, term="30 jours"))
    """


@hookspec
def partner_updated(app, session, partner, changes):
    """A partner's fields were changed.

    Called inside the updating transaction, after the change is flushed.

    :param partner: the :class:`core.models.Partner`, with its new values.
    :param changes: ``{field: (old, new)}`` for each field that changed.
    :returns: nothing.

    Example::

        @hookimpl
        def partner_updated(app, session, partner, changes):
            if "email" in changes:
                notify(app, session, recipients="role:collections", subject=f"{partner.name}: new address",
                       text=f"{changes['email'][0]} -> {changes['email'][1]}")
    """


@hookspec
def order_confirmed(app, session, order):
    """A sales order went from draft to confirmed.

    The seam the modules share: billing drafts the invoice, procurement reserves stock and runs
    the reorder check. Called inside the confirming transaction, after the state change is
    flushed; raising rolls the confirmation back and the order stays a draft.

    :param order: the :class:`core.models.SalesOrder`, with its lines.
    :returns: nothing.

    Example::

        @hookimpl
        def order_confirmed(app, session, order):
            if is_on_hold(session, order.customer_id):
                raise CrmError(f"customer {order.customer.name} is on credit hold")
    """


@hookspec
def order_delivered(app, session, order):
    """A confirmed sales order was delivered (its goods left the warehouse).

    Called inside the delivering transaction (``crm order deliver``), after the state change is
    flushed; procurement writes the outgoing stock moves here. Raising rolls the delivery back.

    :param order: the :class:`core.models.SalesOrder`, with its lines; ``order.delivered_at`` is today.
    :returns: nothing.

    Example::

        @hookimpl
        def order_delivered(app, session, order):
            for line in order.lines:
                session.add(StockMove(product_id=line.product_id, quantity=-line.quantity, day=app.today))
    """


@hookspec
def order_cancelled(app, session, order, reason):
    """A sales order was cancelled (from draft or confirmed).

    Called inside the cancelling transaction; raising rolls the cancellation back (a module
    refuses to cancel, for instance, an order already invoiced and paid).

    :param order: the :class:`core.models.SalesOrder`; ``order.confirmed_at`` tells whether it
        had been confirmed.
    :param reason: the operator's reason, possibly empty.
    :returns: nothing.

    Example::

        @hookimpl
        def order_cancelled(app, session, order, reason):
            release_reservations(session, order.id)
    """


# --- Reports: called inside a read-only session, results combined by the kernel ----------------

@hookspec
def report_sections(app, session, period):
    """Contribute this module's section to the period report (``crm report period``).

    Called once per report, in a session that is rolled back afterwards (a report writes
    nothing). A module that is disabled is not called, so its section simply is not there.

    :param period: a :class:`core.reports.Period`: ``start`` and ``end`` (both included),
        ``today``, and ``team`` with ``member_ids`` when the report is for one team (else None).
    :returns: a :class:`core.reports.Section` (or a list of them, or None). Sections are shown
        in ascending ``order``; their ``data`` forms the report's JSON under their ``key``.

    Example::

        @hookimpl
        def report_sections(app, session, period):
            held = session.scalar(select(func.count()).select_from(Hold).where(Hold.day.between(period.start, period.end)))
            return Section(key="holds", title="Credit holds", order=70, template="holds/report.html",
                           data={"placed": held}, summary=[("holds placed", str(held))])
    """


@hookspec
def plan_sections(app, session, period):
    """Contribute this module's section to the plan of a coming period (``crm plan``).

    Called once per plan, in a session that is rolled back afterwards, like
    :func:`report_sections`, but looking forward: what the module expects to happen between
    ``period.start`` and ``period.end`` as seen on ``period.today``.

    :param period: a :class:`core.reports.Period` (``start``, ``end``, ``today``, ``team``).

    :returns: a :class:`core.reports.Section`, a list of them, or None.

    Example::

        @hookimpl
        def plan_sections(app, session, period):
            return Section(key="holds", title="Holds ending", template="holds/plan.html",
                           data={"ending": ending_between(session, period.start, period.end)})
    """


@hookspec
def plan_cash(app, session, period):
    """Contribute money expected in or out, or a bank balance, to the plan's cash section (``crm plan``).

    Called once per plan, after :func:`plan_sections`, in the same session (rolled back
    afterwards). The kernel adds every module's answers up week by week (:mod:`core.cashplan`):
    billing gives the receivables each customer is expected to pay and the last statement's
    closing balance; procurement gives the bills to pay and what the purchase orders will bill.
    The cash plan is company-wide: ignore ``period.team``.

    :param period: a :class:`core.reports.Period` (``start``, ``end``, ``today``).
    :returns: a :class:`core.cashplan.CashFlow` or :class:`core.cashplan.CashBalance`, a list of
        them, or None. Days before ``period.today`` are taken as ``today``.

    Example::

        @hookimpl
        def plan_cash(app, session, period):
            return CashFlow(key="payroll", title="salaries", direction="out",
                            amounts={day: amount for day, amount in salaries(session, period)})
    """


@hookspec
def partner_account(app, session, partner):
    """Contribute this module's part of a customer's account (``crm partner account``, ``crm partner statement``).

    Called once per command, inside its read-only transaction (nothing is written), with the
    business date as ``app.today``. A module that is disabled is not called, so its part is simply
    not there: billing gives the money (balance, credit, open invoices with days late and reminder
    level, payments and their allocation, open collection cases and promises, average days to
    pay), the funnel gives the deals in progress and the activities.

    :param partner: the :class:`core.models.Partner`, found by :func:`core.services.partners.get_partner`.
    :returns: a :class:`core.services.partners.AccountSection` (or None when the module has nothing
        on this partner). Sections are shown in ascending ``order``; their ``data`` (JSON-ready:
        amounts as decimal strings, dates as ISO text) forms ``sections.<key>`` of the JSON;
        ``summary`` (label, value) pairs and ``tables`` (title, rows, columns) are what the terminal
        shows. ``documents`` names the document kinds the section offers for the partner
        (``{"statement": "billing.statement"}``): ``crm partner statement`` prints the one named
        ``statement``, rendered with the reference ``"<partner id>:<from>:<to>"``.

    Example::

        @hookimpl
        def partner_account(app, session, partner):
            held = session.get(Hold, partner.id)
            return AccountSection(key="holds", title="Credit hold", order=70,
                                  data={"on_hold": held is not None},
                                  summary=[("on hold", "yes" if held else "no")])
    """


@hookspec
def expected_demand(app, session, start, end):
    """The product quantities the sales pipeline expects to sell between two dates.

    A question one module answers for another without importing it: the funnel knows the
    weighted pipeline, procurement plans purchases from it. Called inside the asking session.

    :param start: first day (included).
    :param end: last day (included).
    :returns: a list of dicts ``{"product_id": int, "quantity": Decimal, "expected_on": date,
        "probability": Decimal}``, ``quantity`` already weighted by the probability (0-100);
        results of all modules are concatenated.

    Example::

        @hookimpl
        def expected_demand(app, session, start, end):
            return [{"product_id": 7, "quantity": Decimal("4.5"), "expected_on": end, "probability": Decimal(45)}]
    """
