"""Rules of leads and deals, through the services: one test per rule and its edges."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.errors import StateError, ValidationError
from core.models import Partner, SalesOrder
from plugins.funnel import deals, leads
from plugins.funnel.models import Activity, LeadEvent

pytestmark = pytest.mark.modules("funnel")


def test_duplicate_keys_are_normalised():
    assert leads.email_key("  Jean.Dupont@ACME.fr ") == "jean.dupont@acme.fr"
    assert leads.company_key(" Café  Dupont ", "JEAN") == leads.company_key("cafe dupont", "jean")
    assert leads.company_key(None, "Jean") is None


def test_conversion_links_the_partner_a_lead_duplicates(app, factory):
    partner = factory.partner(name="ACME", email="jean@acme.fr")
    with app.transaction() as session:
        lead = leads.create_lead(app, session, {"name": "Jean", "company": "ACME", "email": "JEAN@acme.fr"})
        assert lead.duplicate_partner_id == partner.id
        deal = leads.convert(app, session, lead)
        assert deal.customer_id == partner.id and deal.expected_close == app.today + dt.timedelta(days=30)
        assert session.scalars(select(Partner)).all() == [session.get(Partner, partner.id)]
        with pytest.raises(StateError):
            leads.convert(app, session, lead)


def test_a_failed_conversion_leaves_nothing(app):
    with pytest.raises(Exception):
        with app.transaction() as session:
            lead = leads.create_lead(app, session, {"name": "Solo"})
            leads.convert(app, session, lead, deal={"pipeline": "nope"})
    with app.transaction() as session:
        assert session.scalars(select(Partner)).all() == []


def test_merge_keeps_history_and_moves_activities(app, factory):
    owner = factory.user(login="alice")
    with app.transaction() as session:
        keep = leads.create_lead(app, session, {"name": "Jean", "email": "jean@acme.fr"})
        other = leads.create_lead(app, session, {"name": "Jean D.", "email": "jean@acme.fr", "phone": "0102"})
        session.add(Activity(kind="call", subject="call", owner_id=owner.id, due_date=app.today,
                             lead_id=other.id, created_on=app.today))
        session.flush()
        leads.merge(app, session, keep, other)
        assert keep.phone == "0102" and other.state == "merged" and other.merged_into_id == keep.id
        assert session.scalars(select(Activity.lead_id)).all() == [keep.id]
        actions = session.scalars(select(LeadEvent.action).where(LeadEvent.lead_id == keep.id)
                                  .order_by(LeadEvent.id)).all()
        assert actions.count("created") == 2 and actions[-1] == "merged"
        with pytest.raises(StateError):
            leads.merge(app, session, keep, other)


def test_won_lost_reopen_rules(app, factory):
    customer = factory.partner()
    product = factory.product(list_price="12.50")
    with app.transaction() as session:
        deal = deals.create_deal(app, session, {"name": "D", "customer": str(customer.id),
                                                "expected_close": "2026-12-31"})
        with pytest.raises(ValidationError, match="lines"):
            deals.win(app, session, deal)
        deals.add_line(app, session, deal, {"sku": product.sku, "quantity": "3", "discount": "10"})
        assert str(deal.value) == "33.75"    # 3 × 12.50 − 10 %
        with pytest.raises(ValidationError, match="reason"):
            deals.lose(app, session, deal, "")
        deals.win(app, session, deal)
        order = session.get(SalesOrder, deal.order_id)
        assert order.state == "confirmed" and str(order.total_untaxed) == "33.75"
        with pytest.raises(StateError):
            deals.move(app, session, deal, "Proposition")
        deals.reopen(app, session, deal)
        assert deal.state == "open" and deal.stage.name == "Nouveau" and deal.closed_on is None
        deals.win(app, session, deal)                 # won again: the confirmed order is kept, not doubled
        assert session.scalars(select(SalesOrder)).all() == [order]


def test_probability_override_and_stage_default(app):
    with app.transaction() as session:
        deal = deals.create_deal(app, session, {"name": "D", "value": "1000", "expected_close": "2026-12-31"})
        assert deals.effective_probability(deal) == 10
        deals.edit_deal(app, session, deal, {"probability": "35"})
        assert deals.effective_probability(deal) == 35
        deals.edit_deal(app, session, deal, {}, clear_probability=True)
        deals.move(app, session, deal, "Négociation")
        assert deals.effective_probability(deal) == 75
        with pytest.raises(ValidationError):
            deals.move(app, session, deal, "Gagné")
