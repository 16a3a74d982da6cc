"""funnel: archived stages, targets for any period, stage outcomes, forecast snapshots, the market

Targets may now cover a half-year, an ISO week or any range of days (so a range's end is part of
its key); a stage can be archived (kept for the history, closed to new moves);
``funnel_stage_outcome`` digests the history of the closed deals for the learned probabilities
(backfilled here from the history, as ``plugins.funnel.outcomes.rebuild_sql`` does); the weekly
forecast snapshots feed ``crm forecast accuracy``; ``funnel_market_company`` holds the last
Sirene extract imported by ``crm market import``.

Revision ID: funnel_0004
Revises: funnel_0003
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal


revision = 'funnel_0004'
down_revision = 'funnel_0003'
branch_labels = None
depends_on = None


# The statement of plugins.funnel.outcomes.rebuild_sql, frozen here as this revision ran it.
BACKFILL_OUTCOMES = """
INSERT INTO funnel_stage_outcome (opportunity_id, pipeline_id, stage_id, won, entered_on, closed_on, days,
                                  team_id, source, value)
SELECT o.id, o.pipeline_id, e.stage_id, o.state = 'won', e.first_on, o.closed_on, {days},
       o.team_id, l.source, o.value
FROM (SELECT h.opportunity_id AS deal_id, h.to_stage_id AS stage_id, MIN(h.changed_on) AS first_on
      FROM funnel_stage_change h JOIN funnel_stage s ON s.id = h.to_stage_id
      WHERE s.kind = 'open' GROUP BY h.opportunity_id, h.to_stage_id) e
JOIN funnel_opportunity o ON o.id = e.deal_id
LEFT JOIN funnel_lead l ON l.id = o.lead_id
WHERE o.state IN ('won', 'lost') AND o.closed_on IS NOT NULL
"""


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite's batch mode would copy funnel_stage, which the deals reference
    op.add_column('funnel_stage', sa.Column('archived', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('funnel_target') as batch:
        batch.drop_constraint(op.f('uq_funnel_target_user_id_team_id_period_kind_period_start'), type_='unique')
        batch.drop_constraint(op.f('ck_funnel_target_period_kind'), type_='check')
        batch.create_unique_constraint(op.f('uq_funnel_target_user_id_team_id_period_kind_period_start_period_end'),
                                       ['user_id', 'team_id', 'period_kind', 'period_start', 'period_end'])
        batch.create_check_constraint(
            op.f('ck_funnel_target_period_kind'),
            "period_kind IN ('month', 'quarter', 'half', 'year', 'week', 'range')")
    op.create_table('funnel_stage_outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('won', sa.Boolean(), nullable=False),
    sa.Column('entered_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('value', ScaledDecimal(2), nullable=False),
    sa.ForeignKeyConstraint(['opportunity_id'], ['funnel_opportunity.id'],
                            name=op.f('fk_funnel_stage_outcome_opportunity_id_funnel_opportunity'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_stage_outcome'))
    )
    op.create_index(op.f('ix_funnel_stage_outcome_opportunity_id'), 'funnel_stage_outcome', ['opportunity_id'],
                    unique=False)
    op.create_index('ix_funnel_stage_outcome_segments', 'funnel_stage_outcome',
                    ['stage_id', 'won', 'team_id', 'source', 'days', 'closed_on', 'pipeline_id'], unique=False)
    op.create_index('ix_funnel_stage_outcome_amount', 'funnel_stage_outcome',
                    ['stage_id', 'won', 'value', 'closed_on', 'pipeline_id'], unique=False)
    days = ("o.closed_on - e.first_on" if op.get_bind().dialect.name == "postgresql"
            else "CAST(julianday(o.closed_on) - julianday(e.first_on) AS INTEGER)")
    op.execute(BACKFILL_OUTCOMES.format(days=days))
    op.create_table('funnel_forecast_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('won', ScaledDecimal(2), nullable=False),
    sa.Column('weighted_pipeline', ScaledDecimal(2), nullable=False),
    sa.Column('forecast', ScaledDecimal(2), nullable=False),
    sa.Column('open_deals', sa.Integer(), nullable=False),
    sa.CheckConstraint("method IN ('configured', 'learned')", name=op.f('ck_funnel_forecast_snapshot_method')),
    sa.CheckConstraint('(user_id IS NULL) <> (team_id IS NULL)',
                       name=op.f('ck_funnel_forecast_snapshot_user_or_team')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_funnel_forecast_snapshot_team_id_core_team')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_funnel_forecast_snapshot_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_forecast_snapshot')),
    sa.UniqueConstraint('week', 'period', 'method', 'subject',
                        name=op.f('uq_funnel_forecast_snapshot_week_period_method_subject'))
    )
    op.create_index('ix_funnel_forecast_snapshot_period', 'funnel_forecast_snapshot',
                    ['period', 'method', 'subject', 'week'], unique=False)
    op.create_table('funnel_market_company',
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('siren', sa.String(length=9), nullable=False),
    sa.Column('naf', sa.String(length=5), nullable=True),
    sa.Column('postal_code', sa.String(length=5), nullable=True),
    sa.Column('department', sa.String(length=3), nullable=True),
    sa.Column('size_band', sa.String(length=2), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('head_office', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('siret', name=op.f('pk_funnel_market_company'))
    )
    op.create_index('ix_funnel_market_naf', 'funnel_market_company', ['active', 'naf', 'siren'], unique=False)
    op.create_index('ix_funnel_market_department', 'funnel_market_company', ['active', 'department', 'siren'],
                    unique=False)
    op.create_index('ix_funnel_market_size', 'funnel_market_company', ['active', 'size_band', 'siren'], unique=False)
    op.create_index('ix_funnel_market_siren', 'funnel_market_company',
                    ['active', 'siren', 'naf', 'department', 'size_band'], unique=False)


def downgrade() -> None:
    op.drop_table('funnel_market_company')
    op.drop_table('funnel_forecast_snapshot')
    op.drop_table('funnel_stage_outcome')
    with op.batch_alter_table('funnel_target') as batch:
        batch.drop_constraint(op.f('ck_funnel_target_period_kind'), type_='check')
        batch.drop_constraint(op.f('uq_funnel_target_user_id_team_id_period_kind_period_start_period_end'), type_='unique')
        batch.create_unique_constraint(op.f('uq_funnel_target_user_id_team_id_period_kind_period_start'),
                                       ['user_id', 'team_id', 'period_kind', 'period_start'])
        batch.create_check_constraint(op.f('ck_funnel_target_period_kind'), "period_kind IN ('month', 'quarter', 'year')")
    op.drop_column('funnel_stage', 'archived')  # SQLite 3.35+ drops a column in place
