"""What ``crm shell`` (and click's shell completion) offers for billing's record references."""

from __future__ import annotations

from core.cli.complete import references


def _invoice_number():
    from plugins.billing.models import Invoice

    return Invoice.number


#: ``shell_complete`` of every argument naming an invoice: its number
invoice_ref = references(_invoice_number)
