"""``crm invoice pdf|facturx`` and ``crm reminders letter``: billing's documents written to files.

The commands are added to the ``invoice`` and ``reminders`` groups by ``cli.py``. Each prints the
path it wrote, nothing else, so a script can pick the file up.
"""

from __future__ import annotations

import click

from core.cli.context import pass_state
from plugins.billing.completion import invoice_ref

LOCALES = click.Choice(["fr_FR", "en_GB", "en_US"])
output_option = click.option("--output", "-o", type=click.Path(), default=None,
                             help="File or folder to write to (a name ending with '/' is a folder, made if "
                                  "missing; default: the document's file name, here).")
locale_option = click.option("--locale", type=LOCALES, default=None,
                             help="Language of the document (default: the customer's, else the company's).")


def _write(state, kind: str, ref: str, output, as_html: bool, locale) -> None:
    from core.documents import write

    app = state.app
    with app.transaction() as session:  # what it writes to the database: the "printed" row of the trail
        path = write(app, session, kind, ref, output=output, html=as_html, locale=locale)
    click.echo(str(path))


@click.command("pdf")
@click.argument("ref", shell_complete=invoice_ref)
@output_option
@click.option("--html", "as_html", is_flag=True, help="Write the HTML page instead of the PDF.")
@locale_option
@pass_state
def invoice_pdf(state, ref, output, as_html, locale):
    """Write invoice or credit note REF (id or number) as a printable PDF (A4, every legal mention).

    The default file name is facture-<number>.pdf (invoice-<number>.pdf in English); a business's
    override folder may replace billing/invoice.html, or extend it with
    {% extends "default:billing/invoice.html" %}.
    """
    _write(state, "billing.invoice", ref, output, as_html, locale)


@click.command("facturx")
@click.argument("ref", shell_complete=invoice_ref)
@output_option
@locale_option
@pass_state
def invoice_facturx(state, ref, output, locale):
    """Write posted invoice or credit note REF as Factur-X: PDF/A-3 with its EN 16931 XML embedded.

    The XML is checked against the official EN 16931 schema first; an invoice it rejects is refused
    with the schema's message and no file is written.
    """
    from plugins.billing.facturx import write_facturx

    app = state.app
    with app.session() as session:
        try:
            path = write_facturx(app, session, ref, output=output, locale=locale)
        finally:
            session.rollback()
    from core.documents import printed

    printed(app, "billing.invoice", [(ref, path)])
    click.echo(str(path))


@click.command("letter")
@click.argument("ref", shell_complete=invoice_ref)
@output_option
@click.option("--html", "as_html", is_flag=True, help="Write the HTML page instead of the PDF.")
@locale_option
@pass_state
def reminders_letter(state, ref, output, as_html, locale):
    """Write the formal notice REF as a PDF letter, with the figures the reminder run sent.

    REF is the notification id of the formal notice (`crm notifications list`) or an invoice
    number: the latest formal notice that listed that invoice. The PDF has the pages of the letter
    that was sent: the letter, then the copies of the invoices it encloses.
    """
    if as_html:
        _write(state, "billing.formal_notice", ref, output, as_html, locale)
        return
    from core.files import output_path, write_private
    from plugins.billing.letters import formal_notice_pdf

    app = state.app
    with app.session() as session:
        try:
            document, content = formal_notice_pdf(app, session, ref, locale=locale)
        finally:
            session.rollback()  # printing writes nothing to the database
    path = write_private(output_path(output, f"{document.filename}.pdf"), content)
    from core.documents import printed

    printed(app, "billing.formal_notice", [(ref, path)])
    click.echo(str(path))
