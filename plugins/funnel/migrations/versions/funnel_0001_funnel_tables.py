"""funnel: leads, pipelines, stages, opportunities and their history, activities, targets

Revision ID: funnel_0001
Revises:
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal


revision = 'funnel_0001'
down_revision = None
branch_labels = ('funnel',)
depends_on = 'core'


def upgrade() -> None:
    op.create_table('funnel_pipeline',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_pipeline')),
    sa.UniqueConstraint('name', name=op.f('uq_funnel_pipeline_name'))
    )
    op.create_table('funnel_stage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('probability', ScaledDecimal(2), nullable=False),
    sa.Column('kind', sa.String(length=5), nullable=False),
    sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f('ck_funnel_stage_kind')),
    sa.CheckConstraint('probability >= 0 AND probability <= 10000', name=op.f('ck_funnel_stage_probability')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['funnel_pipeline.id'], name=op.f('fk_funnel_stage_pipeline_id_funnel_pipeline'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_stage')),
    sa.UniqueConstraint('pipeline_id', 'name', name=op.f('uq_funnel_stage_pipeline_id_name')),
    sa.UniqueConstraint('pipeline_id', 'sequence', name=op.f('uq_funnel_stage_pipeline_id_sequence'))
    )
    op.create_table('funnel_lead',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('campaign', sa.String(length=100), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('disqualify_reason', sa.Text(), nullable=True),
    sa.Column('email_key', sa.String(length=254), nullable=True),
    sa.Column('company_key', sa.String(length=402), nullable=True),
    sa.Column('duplicate_of_id', sa.Integer(), nullable=True),
    sa.Column('duplicate_partner_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('new', 'qualified', 'disqualified', 'converted', 'merged')", name=op.f('ck_funnel_lead_state')),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['funnel_lead.id'], name=op.f('fk_funnel_lead_duplicate_of_id_funnel_lead')),
    sa.ForeignKeyConstraint(['duplicate_partner_id'], ['core_partner.id'], name=op.f('fk_funnel_lead_duplicate_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['funnel_lead.id'], name=op.f('fk_funnel_lead_merged_into_id_funnel_lead')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_funnel_lead_owner_id_core_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_funnel_lead_partner_id_core_partner')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_funnel_lead_team_id_core_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_lead'))
    )
    with op.batch_alter_table('funnel_lead', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_lead_company_key'), ['company_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_lead_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_lead_owner_id'), ['owner_id'], unique=False)
    op.create_table('funnel_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('period_kind', sa.String(length=7), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('revenue', ScaledDecimal(2), nullable=False),
    sa.Column('activities', sa.Integer(), nullable=True),
    sa.CheckConstraint("period_kind IN ('month', 'quarter', 'year')", name=op.f('ck_funnel_target_period_kind')),
    sa.CheckConstraint('(user_id IS NULL) <> (team_id IS NULL)', name=op.f('ck_funnel_target_user_or_team')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_funnel_target_team_id_core_team')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_funnel_target_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_target')),
    sa.UniqueConstraint('user_id', 'team_id', 'period_kind', 'period_start', name=op.f('uq_funnel_target_user_id_team_id_period_kind_period_start'))
    )
    op.create_table('funnel_lead_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('happened_on', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lead_id'], ['funnel_lead.id'], name=op.f('fk_funnel_lead_event_lead_id_funnel_lead'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_funnel_lead_event_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_lead_event'))
    )
    with op.batch_alter_table('funnel_lead_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_lead_event_lead_id'), ['lead_id'], unique=False)
    op.create_table('funnel_opportunity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=5), nullable=False),
    sa.Column('value', ScaledDecimal(2), nullable=False),
    sa.Column('probability', ScaledDecimal(2), nullable=True),
    sa.Column('expected_close', sa.Date(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('cycle_days', sa.Integer(), nullable=True),
    sa.Column('lost_reason', sa.Text(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('open', 'won', 'lost')", name=op.f('ck_funnel_opportunity_state')),
    sa.ForeignKeyConstraint(['contact_id'], ['core_contact.id'], name=op.f('fk_funnel_opportunity_contact_id_core_contact'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['core_partner.id'], name=op.f('fk_funnel_opportunity_customer_id_core_partner')),
    sa.ForeignKeyConstraint(['lead_id'], ['funnel_lead.id'], name=op.f('fk_funnel_opportunity_lead_id_funnel_lead')),
    sa.ForeignKeyConstraint(['order_id'], ['core_sales_order.id'], name=op.f('fk_funnel_opportunity_order_id_core_sales_order')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_funnel_opportunity_owner_id_core_user')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['funnel_pipeline.id'], name=op.f('fk_funnel_opportunity_pipeline_id_funnel_pipeline')),
    sa.ForeignKeyConstraint(['stage_id'], ['funnel_stage.id'], name=op.f('fk_funnel_opportunity_stage_id_funnel_stage')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_funnel_opportunity_team_id_core_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_opportunity'))
    )
    with op.batch_alter_table('funnel_opportunity', schema=None) as batch_op:
        batch_op.create_index('ix_funnel_opportunity_closed', ['state', 'closed_on', 'pipeline_id', 'owner_id', 'team_id', 'value', 'cycle_days'], unique=False)
        batch_op.create_index('ix_funnel_opportunity_created', ['pipeline_id', 'created_on', 'owner_id', 'team_id', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_opportunity_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_funnel_opportunity_expected', ['state', 'expected_close', 'pipeline_id', 'owner_id', 'team_id', 'stage_id', 'probability', 'value'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_opportunity_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('ix_funnel_opportunity_stage', ['pipeline_id', 'state', 'stage_id', 'probability', 'value', 'owner_id', 'team_id'], unique=False)
    op.create_table('funnel_activity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.CheckConstraint("kind IN ('call', 'meeting', 'email', 'task')", name=op.f('ck_funnel_activity_kind')),
    sa.ForeignKeyConstraint(['lead_id'], ['funnel_lead.id'], name=op.f('fk_funnel_activity_lead_id_funnel_lead')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['funnel_opportunity.id'], name=op.f('fk_funnel_activity_opportunity_id_funnel_opportunity')),
    sa.ForeignKeyConstraint(['owner_id'], ['core_user.id'], name=op.f('fk_funnel_activity_owner_id_core_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_funnel_activity_partner_id_core_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_activity'))
    )
    with op.batch_alter_table('funnel_activity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funnel_activity_lead_id'), ['lead_id'], unique=False)
        batch_op.create_index('ix_funnel_activity_open', ['done_on', 'due_date', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_activity_opportunity_id'), ['opportunity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_funnel_activity_owner_id'), ['owner_id'], unique=False)
    op.create_table('funnel_opportunity_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', ScaledDecimal(3), nullable=False),
    sa.Column('unit_price', ScaledDecimal(4), nullable=False),
    sa.Column('discount', ScaledDecimal(2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_funnel_opportunity_line_quantity_positive')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['funnel_opportunity.id'], name=op.f('fk_funnel_opportunity_line_opportunity_id_funnel_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_funnel_opportunity_line_product_id_core_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_opportunity_line')),
    sa.UniqueConstraint('opportunity_id', 'sequence', name=op.f('uq_funnel_opportunity_line_opportunity_id_sequence'))
    )
    op.create_table('funnel_stage_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('from_stage_id', sa.Integer(), nullable=True),
    sa.Column('to_stage_id', sa.Integer(), nullable=False),
    sa.Column('changed_on', sa.Date(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['from_stage_id'], ['funnel_stage.id'], name=op.f('fk_funnel_stage_change_from_stage_id_funnel_stage')),
    sa.ForeignKeyConstraint(['opportunity_id'], ['funnel_opportunity.id'], name=op.f('fk_funnel_stage_change_opportunity_id_funnel_opportunity'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_stage_id'], ['funnel_stage.id'], name=op.f('fk_funnel_stage_change_to_stage_id_funnel_stage')),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_funnel_stage_change_user_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funnel_stage_change'))
    )
    with op.batch_alter_table('funnel_stage_change', schema=None) as batch_op:
        batch_op.create_index('ix_funnel_stage_change_deal', ['opportunity_id', 'changed_on', 'to_stage_id'], unique=False)


def downgrade() -> None:
    op.drop_table('funnel_stage_change')
    op.drop_table('funnel_opportunity_line')
    op.drop_table('funnel_activity')
    op.drop_table('funnel_opportunity')
    op.drop_table('funnel_lead_event')
    op.drop_table('funnel_target')
    op.drop_table('funnel_lead')
    op.drop_table('funnel_stage')
    op.drop_table('funnel_pipeline')
