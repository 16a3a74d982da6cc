"""The per-deal summary of the stage history (first and last change, furthest stage) agrees with the
history after every kind of change, the migration builds the same, and the conversion rates read
from it equal their definition computed from the whole history, for any period, owner and team."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from alembic import command
from sqlalchemy import select, text

from core.migrate import alembic_config
from core.services.people import create_team
from plugins.funnel import deals, leads
from plugins.funnel.history import rebuild_summary, summary_rows
from plugins.funnel.models import Opportunity, StageChange
from plugins.funnel.pipelines import get_pipeline
from plugins.funnel.reports import Scope, conversion_rates

pytestmark = pytest.mark.modules("funnel")

START = dt.date(2026, 3, 2)


def _on(app, day: dt.date) -> None:
    app._today = day   # a replayed business day, as --today gives it


def _agrees(session) -> list[tuple]:
    """The summary the services kept equals the one rebuilt from the history (then rolled into place)."""
    session.flush()
    kept = summary_rows(session)
    rebuild_summary(session)
    assert summary_rows(session) == kept
    session.expire_all()
    return kept


def _reference(session, pipeline, start, end, owner_id=None, team_id=None) -> list[tuple[int, int]]:
    """The definition, from every history row: each deal counts once at the furthest stage (not Lost)
    it entered in the period; reached(k) = deals whose furthest stage is k or later."""
    ladder = [s for s in pipeline.stages if s.kind != "lost"]
    rank = {s.id: s.sequence for s in ladder}
    furthest: dict[int, int] = {}
    rows = session.execute(select(StageChange.opportunity_id, StageChange.to_stage_id, StageChange.changed_on,
                                  Opportunity.owner_id, Opportunity.team_id)
                           .join(Opportunity, Opportunity.id == StageChange.opportunity_id)).all()
    for deal_id, stage_id, day, owner, team in rows:
        if stage_id in rank and start <= day <= end and owner_id in (None, owner) and team_id in (None, team):
            furthest[deal_id] = max(furthest.get(deal_id, 0), rank[stage_id])
    reached = [sum(1 for r in furthest.values() if r >= s.sequence) for s in ladder]
    return list(zip(reached, reached[1:]))


def _customer_and_product(factory):
    return factory.partner(name="ACME"), factory.product(sku="WID", list_price="100")


def test_summary_follows_moves_won_lost_reopen_owner_and_team_changes_and_merge(app, factory):
    _customer_and_product(factory)
    alice, bob = factory.user(login="alice"), factory.user(login="bob")
    with app.transaction() as session:
        create_team(session, {"name": "Nord", "leader": "alice", "members": ["bob"]})
        create_team(session, {"name": "Sud", "leader": "bob"})
    with app.transaction() as session:
        _on(app, START)
        deal = deals.create_deal(app, session, {"name": "D1", "customer": "ACME", "owner": "alice", "team": "Nord",
                                                "expected_close": "2026-04-30"})
        deals.add_line(app, session, deal, {"sku": "WID", "quantity": "2"})
        other = deals.create_deal(app, session, {"name": "D2", "value": "500", "expected_close": "2026-04-30"})
        assert _agrees(session)[0][1:] == (START, START, deal.stage_id)
        _on(app, START + dt.timedelta(days=3))
        deals.move(app, session, deal, "Proposition")
        _agrees(session)
        _on(app, START + dt.timedelta(days=5))
        deals.move(app, session, deal, "Qualifié")          # backwards: the furthest stays Proposal
        rows = _agrees(session)
        assert rows[0][3] == get_pipeline(session).stages[2].id
        _on(app, START + dt.timedelta(days=9))
        deals.win(app, session, session.get(Opportunity, deal.id))
        won = _agrees(session)[0]
        assert won[2] == START + dt.timedelta(days=9) and won[3] == deal.stage_id
        _on(app, START + dt.timedelta(days=10))
        deals.reopen(app, session, session.get(Opportunity, deal.id), stage_name="Nouveau")
        _agrees(session)
        _on(app, START + dt.timedelta(days=12))
        deals.lose(app, session, session.get(Opportunity, deal.id), "price")     # lost is not progress
        lost = _agrees(session)[0]
        assert lost[3] == won[3] and lost[2] == START + dt.timedelta(days=12)
        deals.reopen(app, session, session.get(Opportunity, deal.id))
        _agrees(session)
        # the owner and the team change: the report's filters read them from the deal itself
        deals.edit_deal(app, session, session.get(Opportunity, deal.id), {"owner": "bob", "team": "Sud"})
        _agrees(session)
        # a day replayed earlier than the deal's first change moves its first date back
        _on(app, START - dt.timedelta(days=4))
        deals.move(app, session, session.get(Opportunity, other.id), "Négociation")
        assert _agrees(session)[1][1:3] == (START - dt.timedelta(days=4), START)
        # merging leads (one converted into a deal) leaves the deals' history and summary as they are
        _on(app, START + dt.timedelta(days=13))
        first = leads.create_lead(app, session, {"name": "Jean", "company": "ACME", "email": "jean@acme.fr"})
        second = leads.create_lead(app, session, {"name": "Jean D", "email": "jean@acme.fr"})
        converted = leads.convert(app, session, first)
        leads.merge(app, session, first, second)
        deals.move(app, session, converted, "Qualifié")
        _agrees(session)
        pipeline = get_pipeline(session)
        for start, end in ((START, START + dt.timedelta(days=30)), (START + dt.timedelta(days=4),
                                                                    START + dt.timedelta(days=9)),
                           (START - dt.timedelta(days=10), START)):
            for owner_id, team_id in ((None, None), (bob.id, None), (alice.id, None)):
                scope = Scope(pipeline=pipeline, start=start, end=end,
                              owner=session.get(type(bob), owner_id) if owner_id else None)
                got = [(c["reached_from"], c["reached_to"]) for c in conversion_rates(session, scope, pipeline.stages)]
                assert got == _reference(session, pipeline, start, end, owner_id, team_id)


def test_conversion_from_the_summary_equals_the_definition_on_random_histories(app, factory):
    """Random deals moved forward and back, won, lost, reopened and reassigned over two months, some
    days replayed out of order; every period, owner and team gives the reference figures."""
    rng = random.Random(4)
    _customer_and_product(factory)
    users = [factory.user(login=login) for login in ("alice", "bob", "carol")]
    with app.transaction() as session:
        teams = [create_team(session, {"name": name, "leader": user.login})
                 for name, user in (("Nord", users[0]), ("Sud", users[1]))]
        team_ids = [t.id for t in teams]
    with app.transaction() as session:
        pipeline = get_pipeline(session)
        open_names = [s.name for s in pipeline.stages if s.kind == "open"]
        ids = []
        for n in range(24):
            _on(app, START + dt.timedelta(days=rng.randrange(20)))
            deal = deals.create_deal(app, session, {
                "name": f"D{n}", "customer": "ACME", "owner": rng.choice(users).login,
                "team": rng.choice(["Nord", "Sud", None]), "stage": rng.choice(open_names[:2]),
                "expected_close": "2026-06-30"})
            deals.add_line(app, session, deal, {"sku": "WID", "quantity": "1"})
            ids.append(deal.id)
        for _ in range(140):
            _on(app, START + dt.timedelta(days=rng.randrange(-5, 60)))
            deal = session.get(Opportunity, rng.choice(ids))
            roll = rng.random()
            if deal.state != "open":
                deals.reopen(app, session, deal, stage_name=rng.choice([None, *open_names]))
            elif roll < 0.55:
                target = rng.choice([name for name in open_names if name != deal.stage.name])
                deals.move(app, session, deal, target)
            elif roll < 0.7:
                deals.win(app, session, deal)
            elif roll < 0.85:
                deals.lose(app, session, deal, "no budget")
            else:
                deals.edit_deal(app, session, deal, {"owner": rng.choice(users).login,
                                                     "team": rng.choice(["Nord", "Sud"])})
        _agrees(session)
        pipeline = get_pipeline(session)
        for _ in range(25):
            start = START + dt.timedelta(days=rng.randrange(-8, 62))
            end = start + dt.timedelta(days=rng.randrange(0, 40))
            owner = rng.choice([None, *users])
            team = rng.choice([None, None, *team_ids]) if owner is None else None
            scope = Scope(pipeline=pipeline, start=start, end=end, owner=owner,
                          team=session.get(type(teams[0]), team) if team else None)
            got = [(c["reached_from"], c["reached_to"]) for c in conversion_rates(session, scope, pipeline.stages)]
            assert got == _reference(session, pipeline, start, end, owner.id if owner else None, team), (start, end)


def test_the_migration_backfills_the_summary_and_the_lead_keys(app, factory):
    factory.partner(name="ACME")
    with app.transaction() as session:
        _on(app, START)
        deal = deals.create_deal(app, session, {"name": "D1", "customer": "ACME", "expected_close": "2026-04-30"})
        _on(app, START + dt.timedelta(days=2))
        deals.move(app, session, deal, "Proposition")
        deals.lose(app, session, deal, "price")
        leads.create_lead(app, session, {"name": "Jean", "email": "jean@acme.fr", "phone": "+33 1 23 45 67 89"})
        expected = summary_rows(session)
    with app.engine.begin() as connection:
        command.downgrade(alembic_config(app, connection), "funnel_0001")
    with app.engine.begin() as connection:
        command.upgrade(alembic_config(app, connection), "funnel@head")
    with app.transaction() as session:
        assert summary_rows(session) == expected and expected[0][3] is not None
        assert session.execute(text("SELECT phone_key, domain_key FROM funnel_lead")).one() == ("0123456789", "acme.fr")
