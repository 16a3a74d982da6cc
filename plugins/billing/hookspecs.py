"""Hooks the billing module offers to other modules (a consumer names ``billing`` in ``depends``).

Both are called inside the transaction of the command that causes them: raising rolls it back,
and the error names the plugin and the hook.
"""

from __future__ import annotations

from core.hookspecs import hookspec


@hookspec
def invoice_posted(app, session, invoice):
    """An invoice or a credit note was posted (numbered, now immutable).

    Called inside the posting transaction, after the number is given and flushed.

    :param invoice: the :class:`plugins.billing.models.Invoice` (``kind`` tells a credit note).
    :returns: nothing.
    """


@hookspec
def payment_recorded(app, session, payment, allocations, cleared):
    """A customer payment was recorded and allocated to invoices.

    Called inside the recording transaction (a command or one row of a payment import), after the
    allocations are flushed and any cleared invoice's reminder case is closed.

    :param payment: the :class:`plugins.billing.models.Payment` (``unallocated`` is the credit left).
    :param allocations: ``[(invoice, amount)]`` in the order they were made.
    :param cleared: the invoices this payment fully paid.
    :returns: nothing.
    """


@hookspec
def bank_debits_imported(app, session, lines):
    """A bank statement brought debit lines (money that left the account): a payables module clears its bills.

    Called inside the import's transaction, once per statement, after its credits are settled, and
    only when it holds new debit lines. Billing keeps them (``crm payment unmatched --debits``).

    :param lines: one dict per new debit line: ``id``, ``direction`` (``debit``), ``amount``
        (Decimal), ``booking_date``, ``counterparty_name``, ``counterparty_iban``, ``remittance``,
        ``structured_reference``.
    :returns: nothing.
    """
