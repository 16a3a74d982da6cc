"""Commands for the kernel's partners: customers and suppliers, their contacts, account and statement."""

from __future__ import annotations

import click

from core.cli.complete import references
from core.cli.context import emit_json, emit_record, emit_table, given, json_option, pass_state
from core.cli.fields import extension_rows, set_option


def _partner_name():
    from core.models import Partner

    return Partner.name


partner_ref = references(_partner_name)


PARTNER_OPTIONS = [
    ("--kind", "kind", "company or person (default: company)."),
    ("--email", "email", "E-mail address."),
    ("--phone", "phone", "Phone number."),
    ("--street", "street", "Street address."),
    ("--postal-code", "postal_code", "Postal code."),
    ("--city", "city", "City."),
    ("--country", "country", "ISO country code (default: FR)."),
    ("--siren", "siren", "SIREN (9 digits, checked)."),
    ("--siret", "siret", "SIRET (14 digits, checked; gives the SIREN)."),
    ("--vat-number", "vat_number", "Intra-EU VAT number (checked)."),
    ("--language", "language", "Language of what the partner reads: fr or en (default: the company's)."),
    ("--salesperson", "salesperson", "Login of the user who owns this customer."),
]


def partner_options(function):
    for flag, dest, text in reversed(PARTNER_OPTIONS):
        function = click.option(flag, dest, default=None, help=text)(function)
    return function


@click.group()
def partner():
    """Customers and suppliers."""


@partner.command("add")
@click.argument("name")
@partner_options
@click.option("--customer/--no-customer", "is_customer", default=None, help="Is a customer (default: yes).")
@click.option("--supplier/--no-supplier", "is_supplier", default=None, help="Is a supplier (default: no).")
@click.option("--allow-duplicate", is_flag=True, help="Create even if the SIREN or e-mail is already used.")
@set_option
@json_option
@pass_state
def partner_add(state, name, allow_duplicate, assignments, as_json, **values):
    """Add a partner NAME (a company unless --kind person)."""
    from core import extensions
    from core.services.partners import create_partner, partner_dict

    app = state.app
    record = f"partner {name.strip()!r}"
    with app.transaction() as session:
        created = create_partner(app, session, {"name": name, **given(values)}, allow_duplicate=allow_duplicate,
                                 record=record,
                                 extensions=extensions.parse_assignments(app, "partner", assignments, record))
        data = partner_dict(created, extensions.read(app, session, "partner", [created.id]).get(created.id))
    emit_json(data) if as_json else click.echo(f"partner {data['id']}: {data['name']}")


@partner.command("edit")
@click.argument("ref", shell_complete=partner_ref)
@click.option("--name", "name", default=None, help="New name.")
@partner_options
@click.option("--customer/--no-customer", "is_customer", default=None, help="Is a customer.")
@click.option("--supplier/--no-supplier", "is_supplier", default=None, help="Is a supplier.")
@set_option
@pass_state
def partner_edit(state, ref, assignments, **values):
    """Change fields of partner REF (id, name, a part of the name or SIREN)."""
    from core import extensions
    from core.services.partners import get_partner, update_partner

    app = state.app
    with app.transaction() as session:
        partner = get_partner(session, ref)
        record = f"partner {partner.id}"
        changes = update_partner(app, session, partner, given(values), record=record,
                                 extensions=extensions.parse_assignments(app, "partner", assignments, record))
    click.echo("changed: " + ", ".join(sorted(changes)) if changes else "nothing changed")


@partner.command("contact")
@click.argument("ref", shell_complete=partner_ref)
@click.argument("name")
@click.option("--email", default=None, help="E-mail address.")
@click.option("--phone", default=None, help="Phone number.")
@click.option("--function", default=None, help="Job title.")
@pass_state
def partner_contact(state, ref, name, **values):
    """Add contact person NAME to partner REF."""
    from core.services.partners import add_contact, get_partner

    app = state.app
    with app.transaction() as session:
        contact = add_contact(session, get_partner(session, ref), {"name": name, **given(values)})
        click.echo(f"contact {contact.id}: {contact.name}")


@partner.command("list")
@click.option("--customers", "role", flag_value="customer", help="Customers only.")
@click.option("--suppliers", "role", flag_value="supplier", help="Suppliers only.")
@click.option("--search", default=None, help="Part of the name or e-mail, or a SIREN.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many rows.")
@click.option("--where", "where", multiple=True, metavar="MODULE.FIELD=VALUE",
              help="Only partners whose field (one a module marks searchable) has this value (repeat to combine).")
@json_option
@pass_state
def partner_list(state, role, search, limit, where, as_json):
    """List partners by name (with the fields modules mark to be listed)."""
    from core import extensions
    from core.models import Partner
    from core.services.partners import list_partners, partner_dict

    app = state.app
    with app.transaction() as session:
        filters = dict(role=role, search=search, limit=limit,
                       where=extensions.conditions(app, "partner", where, Partner.id) if where else ())
        found = list_partners(session, **filters)
        # one query for every listed extension field of every partner (a join per module)
        extra = extensions.read(app, session, "partner", list_partners(
            session, columns=[Partner.id], **filters), only="listed") \
            if extensions.of(app, "partner") else {}
        blank = extensions.blank(app, "partner", only="listed")
        rows = [partner_dict(p, extra.get(p.id, blank)) for p in found]
    if as_json:
        emit_json(rows)
        return
    columns = []
    if rows:
        flat_rows = [{**row, **extension_rows(app, "partner", row, only="listed")[0]} for row in rows]
        columns = extension_rows(app, "partner", rows[0], only="listed")[1]
        rows = flat_rows
    emit_table(rows, [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                      ("is_supplier", "Supplier"), ("email", "E-mail"), ("city", "City"), ("siren", "SIREN"),
                      *columns],
               empty="no partner")


@partner.command("show")
@click.argument("ref", shell_complete=partner_ref)
@json_option
@pass_state
def partner_show(state, ref, as_json):
    """Show partner REF (id, name, a part of the name or SIREN) with its contacts."""
    from core import extensions
    from core.services.partners import get_partner, partner_dict

    app = state.app
    with app.transaction() as session:
        found = get_partner(session, ref)
        data = partner_dict(found, extensions.read(app, session, "partner", [found.id]).get(found.id))
    if as_json:
        emit_json(data)
        return
    contacts = ", ".join(f"{c['name']} <{c['email'] or '-'}>" for c in data["contacts"]) or "-"
    extra, columns = extension_rows(app, "partner", data)
    emit_record({**data, **extra, "contacts": contacts},
                [("id", "Id"), ("name", "Name"), ("kind", "Kind"), ("is_customer", "Customer"),
                 ("is_supplier", "Supplier"), ("email", "E-mail"), ("phone", "Phone"), ("street", "Street"),
                 ("postal_code", "Postal code"), ("city", "City"), ("country", "Country"), ("siren", "SIREN"),
                 ("siret", "SIRET"), ("vat_number", "VAT number"), ("language", "Language"),
                 ("salesperson", "Salesperson"), *columns,
                 ("contacts", "Contacts")])


@partner.command("account")
@click.argument("ref", shell_complete=partner_ref, metavar="CUSTOMER")
@json_option
@pass_state
def partner_account(state, ref, as_json):
    """The account of CUSTOMER (id, name, part of the name or SIREN): one section per enabled module.

    Billing: balance, credit, open invoices with days late and reminder level, payments and their
    allocation, open collection cases and promises, average days to pay. Funnel: deals in
    progress and activities.
    """
    from core.services.partners import account_dict, account_sections, get_partner

    app = state.app
    with app.transaction() as session:
        partner = get_partner(session, ref)
        sections = account_sections(app, session, partner)
        data = account_dict(app, partner, sections)
    if as_json:
        emit_json(data)
        return
    click.echo(f"{data['partner']['name']} (partner {data['partner']['id']}) on {data['as_of']}")
    if not sections:
        click.echo("no enabled module keeps an account for this partner")
    for section in sections:
        click.echo(f"\n== {section.title} ==")
        if section.summary:
            emit_record(dict(section.summary), [(label, label) for label, _ in section.summary])
        for title, rows, columns in section.tables:
            click.echo(f"\n{title}:")
            emit_table(rows, columns, empty="  none")


@partner.command("statement")
@click.argument("ref", shell_complete=partner_ref, metavar="CUSTOMER")
@click.option("--from", "start", default=None, metavar="YYYY-MM-DD", help="First day (default: 1 January).")
@click.option("--to", "end", default=None, metavar="YYYY-MM-DD", help="Last day (default: --today).")
@click.option("--pdf", "output", type=click.Path(dir_okay=True, writable=True), default=None,
              help="Write the PDF there (a file or a folder; default: its name in the current folder).")
@click.option("--send", is_flag=True, help="E-mail it to the customer (an outbox message with the PDF attached).")
@click.option("--locale", type=click.Choice(["fr_FR", "en_GB", "en_US"]), default=None,
              help="Language (default: [company] locale).")
@pass_state
def partner_statement(state, ref, start, end, output, send, locale):
    """The statement of account ("relevé de compte") of CUSTOMER for a period, as a PDF.

    Opening balance, invoices, payments, credit notes, closing balance and what is overdue at the
    period's end. Offered by the module that keeps the customer's money (billing).
    """
    from core.documents import render, save
    from core.errors import CrmError, ValidationError
    from core.outbox import DocumentAttachment, notify
    from core.services.partners import account_sections, get_partner

    app = state.app
    start, end = _day(start, "--from") if start else app.today.replace(month=1, day=1), \
        _day(end, "--to") if end else app.today
    if end < start:
        raise ValidationError(f"{end.isoformat()} is before {start.isoformat()}", record="statement", field="to")
    with app.transaction() as session:
        partner = get_partner(session, ref)
        kinds = [s.documents["statement"] for s in account_sections(app, session, partner) if "statement" in s.documents]
        if not kinds:
            raise CrmError(f"partner {partner.name}: no enabled module offers a statement of account")
        document_ref = f"{partner.id}:{start.isoformat()}:{end.isoformat()}"
        from core.services.company import reader_locale

        locale = locale or reader_locale(app, partner)  # the customer reads it in their language
        document = render(app, session, kinds[0], document_ref, locale=locale)
        if send:
            if not partner.email:
                raise ValidationError("has no e-mail address to send the statement to", record=f"partner {partner.name}",
                                      field="email")
            notify(app, session, recipients=[partner.email], subject=document.title,
                   text=_statement_text(app, locale, start, end),
                   attachments=[DocumentAttachment(kinds[0], document_ref)], related=f"core_partner:{partner.id}",
                   dedup_key=f"core:statement:{document_ref}:{app.today.isoformat()}")
    if send:
        click.echo(f"statement of {partner.name} ({start.isoformat()} to {end.isoformat()}) queued for {partner.email}")
    if output or not send:
        from core.documents import printed

        path = save(app, document, output=output)
        printed(app, kinds[0], [(document_ref, path)])
        click.echo(str(path))


def _day(value: str, option: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


def _statement_text(app, locale, start, end) -> str:
    from core.services.company import current

    sender = current(app)["name"] or ""
    if (locale or app.config.company.locale).startswith("fr"):
        return (f"Bonjour,\n\nVeuillez trouver ci-joint votre relevé de compte du {start.isoformat()} au "
                f"{end.isoformat()}.\n\nCordialement,\n{sender}\n")
    return (f"Hello,\n\nPlease find attached your statement of account from {start.isoformat()} to "
            f"{end.isoformat()}.\n\nKind regards,\n{sender}\n")
