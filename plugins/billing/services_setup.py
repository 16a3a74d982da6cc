"""Seed data written when the module is enabled: terms, rates, the default reminder policy."""

from __future__ import annotations


def seed(app, session) -> None:
    """Idempotent: enabling the module again adds only what is missing."""
    from plugins.billing.services_rates import seed_rates
    from plugins.billing.services_reminder_levels import seed_levels
    from plugins.billing.services_terms import seed_terms

    seed_terms(session)
    seed_rates(session)
    seed_levels(app, session)
