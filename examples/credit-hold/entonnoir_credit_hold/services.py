"""Placing, releasing and checking credit holds (takes a session and plain values, never prints)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.errors import StateError, ValidationError
from core.services.partners import get_partner
from entonnoir_credit_hold.models import PartnerHold

NAME_LENGTH = 64


def active_hold(session, partner_id: int) -> PartnerHold | None:
    """The partner's current hold, or None."""
    query = select(PartnerHold).where(PartnerHold.partner_id == partner_id, PartnerHold.released_on.is_(None))
    return session.scalars(query).first()


def _who(value: str | None, record: str, field: str) -> str | None:
    value = (value or "").strip() or None
    if value is not None and len(value) > NAME_LENGTH:
        raise ValidationError(f"at most {NAME_LENGTH} characters", record=record, field=field)
    return value


def place_hold(app, session, partner_ref, reason: str, placed_by: str | None = None) -> PartnerHold:
    """Put a partner on credit hold from ``app.today``; refused if it already is (the message says since when)."""
    from core.security import require

    require(app, session, "credit_hold.manage")
    partner = get_partner(session, partner_ref)
    record = f"partner {partner.name!r}"
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a reason is required (collections will read it when an order is refused)",
                              record=record, field="reason")
    placed_by = _who(placed_by, record, "placed_by")
    current = active_hold(session, partner.id)
    if current is not None:
        raise StateError(f"{record} is already on credit hold since {current.placed_on.isoformat()}: "
                         f"{current.reason}")
    hold = PartnerHold(partner=partner, reason=reason, placed_on=app.today, placed_by=placed_by)
    session.add(hold)
    session.flush()
    return hold


def release_hold(app, session, partner_ref, released_by: str | None = None) -> PartnerHold:
    """Lift a partner's credit hold on ``app.today``; the hold is kept as history."""
    from core.security import require

    require(app, session, "credit_hold.manage")
    partner = get_partner(session, partner_ref)
    record = f"partner {partner.name!r}"
    released_by = _who(released_by, record, "released_by")
    hold = active_hold(session, partner.id)
    if hold is None:
        raise StateError(f"{record} is not on credit hold")
    hold.released_on = app.today
    hold.released_by = released_by
    session.flush()
    return hold


def list_holds(session, *, include_released: bool = False) -> list[PartnerHold]:
    """Active holds (or every hold, newest first), with their partner loaded."""
    query = select(PartnerHold).options(selectinload(PartnerHold.partner))
    if not include_released:
        query = query.where(PartnerHold.released_on.is_(None))
    return list(session.scalars(query.order_by(PartnerHold.placed_on.desc(), PartnerHold.id.desc())))


def check_order(session, order) -> None:
    """Refuse an order whose customer is on credit hold, or whose open orders (this one included,
    as it is confirmed in the same transaction) would exceed the credit limit (raises :class:`StateError`)."""
    hold = active_hold(session, order.customer_id)
    if hold is not None:
        raise StateError(f"customer {order.customer.name} is on credit hold since "
                         f"{hold.placed_on.isoformat()}: {hold.reason}")
    from entonnoir_credit_hold.fields import open_orders
    from entonnoir_credit_hold.models import PartnerCredit

    limit = session.scalar(select(PartnerCredit.credit_limit).where(PartnerCredit.partner_id == order.customer_id))
    if limit is not None:
        session.flush()
        owed = open_orders(session, order.customer_id)
        if owed > limit:
            raise StateError(f"customer {order.customer.name} would have {owed:.2f} in open orders, "
                             f"above the credit limit {limit:.2f}")


def hold_dict(hold: PartnerHold) -> dict:
    """Stable JSON shape of a hold."""
    return {
        "id": hold.id,
        "partner": {"id": hold.partner.id, "name": hold.partner.name},
        "reason": hold.reason,
        "placed_on": hold.placed_on.isoformat(),
        "placed_by": hold.placed_by,
        "released_on": hold.released_on.isoformat() if hold.released_on else None,
        "released_by": hold.released_by,
        "active": hold.active,
    }
