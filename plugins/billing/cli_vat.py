"""``crm vat regime|rates|summary`` and ``crm export fec``: taxes across borders and the accountant's hand-off."""

from __future__ import annotations

import click

from core.cli.context import DAY, emit_json, emit_record, emit_table, json_option, pass_state

REGIME_CHOICES = ["auto", "domestic", "eu_business", "eu_consumer", "export"]


@click.group()
def vat():
    """VAT: customers' tax regimes, EU countries' rates, the month's VAT summary."""


@vat.command("regime")
@click.argument("customer")
@click.argument("regime", required=False, type=click.Choice(REGIME_CHOICES))
@json_option
@pass_state
def vat_regime(state, customer, regime, as_json):
    """Show CUSTOMER's tax regime, or set it to REGIME by hand (auto: derived from country, VAT number, kind).

    domestic: French VAT; eu_business: intra-EU goods exempt (CGI 262 ter I), services reverse-charged
    (CGI 283-2); eu_consumer: French VAT up to the distance-selling threshold, then the country's;
    export: goods exempt (CGI 262 I), services outside the scope (CGI 259-1).
    """
    from plugins.billing.services_vat import regime_of, set_regime

    with state.app.transaction() as session:
        data = set_regime(session, customer, regime) if regime else regime_of(session, customer)
    if as_json:
        emit_json(data)
        return
    emit_record(data, [("customer", "Customer"), ("name", "Name"), ("country", "Country"), ("regime", "Regime"),
                       ("derived", "Derived regime"), ("set_by_hand", "Set by hand")])


@vat.command("rates")
@click.option("--add", "add", nargs=3, default=None, metavar="COUNTRY KIND RATE",
              help="Add a rate: EU country (ISO code), standard or reduced, percent (19, 5.5).")
@click.option("--from", "valid_from", type=DAY, default=None, help="The added rate applies from this date (YYYY-MM-DD).")
@json_option
@pass_state
def vat_rates(state, add, valid_from, as_json):
    """The EU countries' VAT rates (dated), charged to EU consumers above the distance-selling threshold."""
    from core.cli.context import parse_amount
    from core.errors import ValidationError
    from plugins.billing.services_vat import add_country_rate, country_rate_rows

    with state.app.transaction() as session:
        if add:
            if valid_from is None:
                raise ValidationError("--add needs --from DATE", record="rate", field="valid_from")
            country, kind, rate = add
            add_country_rate(session, country, kind, parse_amount(rate, "--add RATE"), valid_from)
        rows = country_rate_rows(session)
    if as_json:
        emit_json(rows)
        return
    emit_table(rows, [("country", "Country"), ("kind", "Kind"), ("valid_from", "From"), ("rate", "Rate %")])


@vat.command("summary")
@click.option("--period", required=True, help="The month, YYYY-MM.")
@click.option("--details", is_flag=True, help="List the documents behind each figure.")
@json_option
@pass_state
def vat_summary_command(state, period, details, as_json):
    """Bases and VAT of a month per category and rate: taxable sales, intra-EU deliveries, exports,
    reverse-charge services, franchise; goods on their invoices, services on receipts unless VAT on debits."""
    from plugins.billing.services_vat import vat_summary

    with state.app.transaction() as session:
        data = vat_summary(session, period, details=details)
    if as_json:
        emit_json(data)
        return
    emit_table(data["rows"], [("label", "Operations"), ("category", "Cat."), ("rate", "Rate %"), ("base", "Base"),
                              ("vat", "VAT")], title=f"VAT {data['period']} ({data['basis']})")
    click.echo(f"VAT total: {data['vat_total']}")
    if details:
        for row in data["rows"]:
            click.echo(f"{row['label']} {row['rate']} %: " + ", ".join(
                f"{d['number']} ({d['basis']}) {d['base']}" for d in row["documents"]))


@click.group("export")
def export():
    """Billing's exports, subcommands of the kernel's `crm export` (see ``register_commands``)."""


@export.command("fec")
@click.option("--from", "start", type=DAY, required=True, help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "end", type=DAY, required=True, help="Last day of the period (YYYY-MM-DD).")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="File or folder to write (default: <SIREN>FEC<YYYYMMDD>.txt here).")
@json_option
@pass_state
def fec_export(state, start, end, output, as_json):
    """The accountant's FEC of the period (Fichier des écritures comptables, LPF article A47 A-1).

    The sales, bank and miscellaneous journals: 18 columns, tab separated, amounts with a decimal
    comma, dates YYYYMMDD, ISO 8859-15, written to <SIREN>FEC<YYYYMMDD>.txt (the period's last
    day), streamed.
    """
    from core.errors import ValidationError
    from core.files import output_path
    from core.services.company import get_company
    from plugins.billing.fec import file_name, open_file, write_fec

    if end < start:
        raise ValidationError(f"--to {end.isoformat()} is before --from {start.isoformat()}", record="fec", field="to")
    with state.app.transaction() as session:
        target = output_path(output, file_name(get_company(session).siren, end))
        partial = target.with_name(target.name + ".part")
        try:  # nothing half-written under the legal name, nothing left behind by a failure
            with open_file(partial) as handle:
                totals = write_fec(state.app, session, start, end, handle)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
    data = {"file": str(target), **totals}
    if as_json:
        emit_json(data)
        return
    click.echo(f"{target}: {totals['entries']} entries, {totals['lines']} lines, debit {totals['debit']} = "
               f"credit {totals['credit']}")

