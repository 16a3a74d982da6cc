"""funnel: per-deal stage-history summary for the report; every duplicate match key of a lead

The conversion rates read each deal's first and last change dates and furthest stage (kept by
every stage change in the same transaction) instead of scanning the whole history; the leads
get a SIREN, a website and the normalised phone and company-domain keys of duplicate detection.
Both are backfilled here, set-based.

Revision ID: funnel_0002
Revises: funnel_0001
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = 'funnel_0002'
down_revision = 'funnel_0001'
branch_labels = None
depends_on = None

# The same statement as plugins.funnel.history.REBUILD, frozen here as this revision ran it.
REBUILD_SUMMARY = """
UPDATE funnel_opportunity SET
    first_change_on = (SELECT min(h.changed_on) FROM funnel_stage_change h
                       WHERE h.opportunity_id = funnel_opportunity.id),
    last_change_on = (SELECT max(h.changed_on) FROM funnel_stage_change h
                      WHERE h.opportunity_id = funnel_opportunity.id),
    furthest_stage_id = (SELECT h.to_stage_id FROM funnel_stage_change h
                         JOIN funnel_stage s ON s.id = h.to_stage_id
                         WHERE h.opportunity_id = funnel_opportunity.id AND s.kind <> 'lost'
                         ORDER BY s.sequence DESC LIMIT 1)
"""


def upgrade() -> None:
    # plain ADD COLUMN (no batch): SQLite adds a nullable column in place, without copying the table
    op.add_column('funnel_opportunity', sa.Column('first_change_on', sa.Date(), nullable=True))
    op.add_column('funnel_opportunity', sa.Column('last_change_on', sa.Date(), nullable=True))
    op.add_column('funnel_opportunity', sa.Column('furthest_stage_id', sa.Integer(), nullable=True))
    op.execute(REBUILD_SUMMARY)
    op.create_index('ix_funnel_opportunity_history', 'funnel_opportunity',
                    ['pipeline_id', 'furthest_stage_id', 'last_change_on', 'first_change_on', 'owner_id', 'team_id'],
                    unique=False)
    for who in ('owner', 'team'):
        op.create_index(f'ix_funnel_opportunity_history_{who}', 'funnel_opportunity',
                        [f'{who}_id', 'pipeline_id', 'furthest_stage_id', 'last_change_on', 'first_change_on'],
                        unique=False)

    op.add_column('funnel_lead', sa.Column('siren', sa.String(length=9), nullable=True))
    op.add_column('funnel_lead', sa.Column('website', sa.String(length=200), nullable=True))
    op.add_column('funnel_lead', sa.Column('phone_key', sa.String(length=20), nullable=True))
    op.add_column('funnel_lead', sa.Column('domain_key', sa.String(length=200), nullable=True))
    op.add_column('funnel_lead', sa.Column('duplicate_keys', sa.String(length=60), nullable=True))
    _backfill_lead_keys()
    op.create_index(op.f('ix_funnel_lead_siren'), 'funnel_lead', ['siren'], unique=False)
    op.create_index(op.f('ix_funnel_lead_phone_key'), 'funnel_lead', ['phone_key'], unique=False)
    op.create_index(op.f('ix_funnel_lead_domain_key'), 'funnel_lead', ['domain_key'], unique=False)


def _backfill_lead_keys() -> None:
    """Phone and e-mail-domain keys of the existing leads (normalised in Python, written in batches)."""
    from plugins.funnel.matching import domain_key, phone_key

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, phone, email FROM funnel_lead "
                                "WHERE phone IS NOT NULL OR email IS NOT NULL")).all()
    values = [{"lead_id": lead_id, "phone_key": phone_key(phone), "domain_key": domain_key(None, email)}
              for lead_id, phone, email in rows]
    values = [v for v in values if v["phone_key"] or v["domain_key"]]
    if values:
        bind.execute(sa.text("UPDATE funnel_lead SET phone_key = :phone_key, domain_key = :domain_key "
                             "WHERE id = :lead_id"), values)


def downgrade() -> None:
    op.drop_index(op.f('ix_funnel_lead_domain_key'), table_name='funnel_lead')
    op.drop_index(op.f('ix_funnel_lead_phone_key'), table_name='funnel_lead')
    op.drop_index(op.f('ix_funnel_lead_siren'), table_name='funnel_lead')
    for name in ('history_team', 'history_owner', 'history'):
        op.drop_index(f'ix_funnel_opportunity_{name}', table_name='funnel_opportunity')
    # plain DROP COLUMN (SQLite >= 3.35), never a batch copy: with foreign keys on, dropping the old
    # funnel_opportunity table would cascade to its stage history
    for column in ('duplicate_keys', 'domain_key', 'phone_key', 'website', 'siren'):
        op.drop_column('funnel_lead', column)
    for column in ('furthest_stage_id', 'last_change_on', 'first_change_on'):
        op.drop_column('funnel_opportunity', column)
