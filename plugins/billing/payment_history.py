"""Payments and refunds in one list, newest first, read a slice at a time.

``crm payment list`` and ``GET /api/v1/payments/`` show both kinds of record together. A slice
``[start:stop]`` reads the sort keys (date, id) of the newest ``stop`` payments and of the newest
``stop`` refunds, merges them (on one date a refund comes before a payment, then the higher id
first), and loads only the records of the slice: each with its customer, a payment with what was
refunded of it, a refund with the credits it drew on. The length is two ``COUNT``\\ s. Every query
is an ORM query, so the actor's record rules limit each (a payment follows its customer).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import func, select

from plugins.billing.models import Payment, Refund, RefundSource

ZERO = Decimal("0.00")
#: the two kinds, in the order a day lists them (a refund first), with their date column
KINDS = ((1, Refund, Refund.refund_date), (0, Payment, Payment.payment_date))


class PaymentHistory(Sequence):
    """Payments and refunds of every customer, or of ``customer``, newest first (see the module docstring)."""

    def __init__(self, session, customer=None):
        from core.services.partners import get_partner

        self.session = session
        self.partner_id = get_partner(session, customer).id if customer is not None else None

    def _of_customer(self, query, model):
        return query if self.partner_id is None else query.where(model.partner_id == self.partner_id)

    def __len__(self) -> int:
        return sum(self.session.scalar(self._of_customer(select(func.count(model.id)), model)) for _, model, _ in KINDS)

    def __getitem__(self, index):
        if not isinstance(index, slice):
            found = self[index:index + 1 or None]
            if not found:
                raise IndexError(index)
            return found[0]
        if index.step not in (None, 1):
            return self[:][index]
        start, stop = index.start or 0, index.stop
        if start < 0 or stop is None or stop < 0:  # counted from the end: the length says where
            start, stop, _ = index.indices(len(self))
        if stop <= start:
            return []
        keys = []
        for rank, model, day in KINDS:
            newest = self._of_customer(select(day, model.id), model).order_by(day.desc(), model.id.desc()).limit(stop)
            keys += [(on, rank, record_id) for on, record_id in self.session.execute(newest)]
        keys = sorted(keys, reverse=True)[start:stop]
        records = self._load([k for k in keys if k[1] == 0], [k for k in keys if k[1] == 1])
        return [records[rank, record_id] for _, rank, record_id in keys]

    def _load(self, payments: list, refunds: list) -> dict:
        """``{(rank, id): dict}`` of the slice's records."""
        from sqlalchemy.orm import joinedload, selectinload

        from plugins.billing.services_payments import payment_dict, refund_dict

        found = {}
        ids = [record_id for *_, record_id in payments]
        if ids:
            refunded = dict(self.session.execute(
                select(RefundSource.payment_id, func.sum(RefundSource.amount, type_=RefundSource.amount.type))
                .where(RefundSource.payment_id.in_(ids)).group_by(RefundSource.payment_id)).all())
            for payment in self.session.scalars(select(Payment).where(Payment.id.in_(ids))
                                                .options(joinedload(Payment.partner, innerjoin=True))):
                found[0, payment.id] = {**payment_dict(payment), "kind": "payment",
                                        "refunded": str(refunded.get(payment.id) or ZERO)}
        ids = [record_id for *_, record_id in refunds]
        if ids:
            for refund in self.session.scalars(select(Refund).where(Refund.id.in_(ids)).options(
                    joinedload(Refund.partner, innerjoin=True), selectinload(Refund.sources))):
                found[1, refund.id] = refund_dict(self.session, refund)
        return found


def list_payments(session, customer=None, limit: int = 100) -> list[dict]:
    """The newest ``limit`` payments and refunds (of ``customer``): ``kind`` says which; a payment
    says what was refunded of it."""
    return PaymentHistory(session, customer)[:limit]
