"""funnel: an index for the leads that came in over a period

The period report counts the leads created between two dates per source (one team's, or all,
merged duplicates left out); this index answers it without reading the lead table.

Revision ID: funnel_0003
Revises: funnel_0002
Create Date: 2026-11-28
"""

from alembic import op


revision = 'funnel_0003'
down_revision = 'funnel_0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_funnel_lead_created', 'funnel_lead', ['created_on', 'team_id', 'state', 'source'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_funnel_lead_created', table_name='funnel_lead')
