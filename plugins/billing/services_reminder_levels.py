"""The reminder policy: numbered levels, each reached when today > due date + its delay.

The policy lives in ``billing_reminder_level``. It is seeded when the module is enabled, from
``[[billing.reminder_levels]]`` in ``crm.toml`` if the admin wrote one, else from French practice
(below), and edited afterwards with ``crm reminders level set|remove``.
"""

from __future__ import annotations

from sqlalchemy import select

from core.errors import NotFound, ValidationError
from core.security import require
from plugins.billing.models import ReminderLevel

#: French practice: friendly e-mail a few days after the due date, firmer one at about two weeks
#: with the sales owner in copy, formal notice (mise en demeure) by letter at 30 days with the
#: late interest and the 40 € indemnity, hand-over to collections at 45 days. The three messages to
#: the customer carry a PDF copy of each overdue invoice.
DEFAULT_LEVELS = [
    {"level": 1, "name": "Relance amiable", "delay_days": 3, "channel": "email", "recipients": "customer",
     "template": "billing/reminder_friendly", "attach_invoices": True},
    {"level": 2, "name": "Relance ferme", "delay_days": 15, "channel": "email", "recipients": "customer,owner",
     "template": "billing/reminder_firm", "attach_invoices": True},
    {"level": 3, "name": "Mise en demeure", "delay_days": 30, "channel": "letter", "recipients": "customer,owner",
     "template": "billing/formal_notice", "interest": True, "indemnity": True, "attach_invoices": True},
    {"level": 4, "name": "Transmission au recouvrement", "delay_days": 45, "channel": "email",
     "recipients": "collections,owner", "template": "billing/handover", "interest": True, "indemnity": True,
     "handover": True},
]


def seed_levels(app, session) -> None:
    """Write the configured (or default) policy if the table is empty."""
    from core.schemas import load

    if session.scalars(select(ReminderLevel.level).limit(1)).first() is not None:
        return
    configured = app.config.section("billing").get("reminder_levels")
    for index, raw in enumerate(configured or DEFAULT_LEVELS, start=1):
        data = load(_schema(), {"level": index, **raw}, f"crm.toml: billing.reminder_levels[{index}]")
        session.add(ReminderLevel(**data))
    session.flush()
    check_policy(session)


def _schema():
    from plugins.billing.schemas import ReminderLevelSchema

    return ReminderLevelSchema()


def levels(session) -> list[ReminderLevel]:
    return list(session.scalars(select(ReminderLevel).order_by(ReminderLevel.level)))


def check_policy(session) -> None:
    """Levels numbered 1..n with strictly increasing delays (else a catch-up could not rank them)."""
    rows = levels(session)
    for index, row in enumerate(rows, start=1):
        if row.level != index:
            raise ValidationError(f"levels must be numbered 1 to {len(rows)} without a hole (level {index} is "
                                  f"missing)", record="reminder policy", field="level")
        if index > 1 and row.delay_days <= rows[index - 2].delay_days:
            raise ValidationError(f"level {index} ({row.delay_days} days) must come later than level {index - 1} "
                                  f"({rows[index - 2].delay_days} days)", record=f"reminder level {index}",
                                  field="delay_days")


def set_level(session, raw: dict) -> ReminderLevel:
    """Create or change a level (the fields given); the policy is checked as a whole afterwards."""
    require(session.info["app"], session, "billing.settings")
    from core.schemas import load
    from plugins.billing.schemas import ReminderLevelSchema

    number = raw.get("level")
    existing = session.get(ReminderLevel, int(number)) if str(number or "").isdigit() else None
    record = f"reminder level {number}"
    if existing is None:
        data = load(ReminderLevelSchema(), raw, record)
        existing = ReminderLevel(**data)
        session.add(existing)
    else:
        data = load(ReminderLevelSchema(partial=True), raw, record)
        for key, value in data.items():
            setattr(existing, key, value)
    session.flush()
    check_policy(session)
    return existing


def remove_level(session, number: int) -> None:
    """Remove the last level (removing one in the middle would renumber the sent history)."""
    require(session.info["app"], session, "billing.settings")
    row = session.get(ReminderLevel, number)
    if row is None:
        raise NotFound(f"reminder level {number}: no such level")
    session.delete(row)
    session.flush()
    check_policy(session)


def level_dict(row: ReminderLevel) -> dict:
    return {"level": row.level, "name": row.name, "delay_days": row.delay_days, "channel": row.channel,
            "recipients": row.recipients.split(","), "template": row.template, "interest": row.interest,
            "indemnity": row.indemnity, "handover": row.handover, "attach_invoices": row.attach_invoices}
