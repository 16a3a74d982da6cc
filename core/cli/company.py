"""``crm company show|set``: the company's legal identity (kernel data, printed on every document)."""

from __future__ import annotations

import click

from core.cli.context import emit_json, emit_record, given as options_given, json_option, pass_state

#: (option, field, help) — ``crm init`` takes the same options
COMPANY_OPTIONS = [
    ("--name", "name", "Legal name, as registered."),
    ("--legal-form", "legal_form", "Legal form: SAS, SASU, SARL, EURL, SA, SNC, SCS, SCA, SCOP, SCI, SELARL, "
                                   "SELAS, EI or EIRL."),
    ("--street", "street", "Street of the registered office."),
    ("--postal-code", "postal_code", "Postal code of the registered office."),
    ("--city", "city", "City of the registered office."),
    ("--country", "country", "ISO country code (default: FR)."),
    ("--siren", "siren", "SIREN (9 digits, checked)."),
    ("--siret", "siret", "SIRET of the head office (14 digits, checked; starts with the SIREN)."),
    ("--trade-register", "trade_register", "RCS (trade register), RM (crafts) or RNE (national register)."),
    ("--register-city", "register_city", "City of the registry's court (RCS Lyon)."),
    ("--rcs-city", "register_city", "Same as --register-city (and sets --trade-register RCS when none is set)."),
    ("--share-capital", "share_capital", "Share capital, exact (10000 or 10000.00); none for an EI."),
    ("--vat-number", "vat_number", "Intra-EU VAT number (checked; FR + key + SIREN)."),
    ("--iban", "iban", "IBAN of the account customers pay into (checked)."),
    ("--bic", "bic", "BIC of that bank (checked)."),
    ("--bank", "bank", "Name of the bank (printed beside the IBAN)."),
    ("--einvoice-address", "einvoice_address", "Electronic address e-invoices reach us at (default: the SIREN)."),
    ("--einvoice-scheme", "einvoice_scheme", "Its scheme: 0225 (SIREN-based, default), 0009 (SIRET), 0002, 0088 "
                                             "(GLN) or EM (e-mail)."),
    ("--email", "email", "Contact e-mail printed on documents."),
    ("--phone", "phone", "Contact phone printed on documents."),
    ("--logo", "logo", "A PNG, JPEG or SVG file: copied into the workspace, printed on documents."),
]


def company_options(function):
    """Add the identity options (and --vat-on-debits/--no-vat-on-debits) to a command."""
    function = click.option("--vat-on-debits/--no-vat-on-debits", "vat_on_debits", default=None,
                            help="Whether the company opted to pay VAT on debits (printed on invoices).")(function)
    function = click.option("--vat-franchise/--no-vat-franchise", "vat_franchise", default=None,
                            help="Whether the company is under the VAT franchise (CGI art. 293 B): "
                                 "invoices carry no VAT and say so.")(function)
    for flag, dest, text in reversed(COMPANY_OPTIONS):
        option_dest = "rcs_city" if flag == "--rcs-city" else dest
        function = click.option(flag, option_dest, default=None, help=text)(function)
    return function


def company_values(values: dict) -> dict:
    """The options given, as fields of the identity (``--rcs-city`` is the RCS's city)."""
    given = options_given(values)
    rcs_city = given.pop("rcs_city", None)
    if rcs_city is not None:
        given.setdefault("register_city", rcs_city)
        given.setdefault("trade_register", "RCS")
    return given


@click.group()
def company():
    """The company's legal identity, printed on invoices, letters and purchase orders."""


@company.command("show")
@json_option
@pass_state
def company_show(state, as_json):
    """Show the identity, and the mentions an invoice still needs (posting is refused until given)."""
    from core.services.company import FIELDS, company_dict, get_company

    app = state.app
    with app.transaction() as session:
        data = company_dict(get_company(session))
    if as_json:
        emit_json(data)
        return
    emit_record({**data, "missing": ", ".join(data["missing"]) or "-"}, [*FIELDS, ("missing", "Missing")])
    legacy = sorted(app.config.company.legacy)
    if legacy:  # an older crm.toml: those keys were copied into the database once and are not read any more
        click.echo(f"note: crm.toml [company] still has {', '.join(legacy)}: no longer read (deprecated); "
                   f"change the identity with `crm company set`", err=True)


@company.command("set")
@company_options
@pass_state
def company_set(state, **values):
    """Change fields of the identity (checked together, in one transaction)."""
    from core.services.company import set_company

    given = company_values(values)
    if not given:
        raise click.UsageError("give at least one field to change (see `crm company set --help`)")
    app = state.app
    with app.transaction() as session:
        changes = set_company(app, session, given)
    click.echo("changed: " + ", ".join(changes) if changes else "nothing changed")
