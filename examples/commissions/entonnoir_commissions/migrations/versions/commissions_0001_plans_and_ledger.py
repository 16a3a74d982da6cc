"""commissions: plans, tiers and the commission ledger

Revision ID: commissions_0001
Revises:
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa

from core.types import ScaledDecimal

revision = "commissions_0001"
down_revision = None
# The module's own branch, on top of the kernel's (its tables reference core_user and core_team).
# Billing's tables are not referenced, so this branch does not depend on billing's.
branch_labels = ("commissions",)
depends_on = "core"


def upgrade() -> None:
    op.create_table(
        "commissions_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("salesperson_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("rate", ScaledDecimal(2), nullable=False),
        sa.Column("tier_period", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(salesperson_id IS NULL) <> (team_id IS NULL)", name=op.f("ck_commissions_plan_one_owner")),
        sa.CheckConstraint("tier_period IN ('month', 'quarter')", name=op.f("ck_commissions_plan_tier_period")),
        sa.CheckConstraint("rate >= 0 AND rate <= 10000", name=op.f("ck_commissions_plan_rate_range")),
        sa.ForeignKeyConstraint(["salesperson_id"], ["core_user.id"],
                                name=op.f("fk_commissions_plan_salesperson_id_core_user"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["core_team.id"],
                                name=op.f("fk_commissions_plan_team_id_core_team"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions_plan")),
        sa.UniqueConstraint("salesperson_id", "valid_from", name=op.f("uq_commissions_plan_salesperson_id_valid_from")),
        sa.UniqueConstraint("team_id", "valid_from", name=op.f("uq_commissions_plan_team_id_valid_from")),
    )
    op.create_table(
        "commissions_tier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("threshold", ScaledDecimal(2), nullable=False),
        sa.Column("rate", ScaledDecimal(2), nullable=False),
        sa.CheckConstraint("threshold > 0", name=op.f("ck_commissions_tier_threshold_positive")),
        sa.CheckConstraint("rate >= 0 AND rate <= 10000", name=op.f("ck_commissions_tier_rate_range")),
        sa.ForeignKeyConstraint(["plan_id"], ["commissions_plan.id"],
                                name=op.f("fk_commissions_tier_plan_id_commissions_plan"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions_tier")),
        sa.UniqueConstraint("plan_id", "threshold", name=op.f("uq_commissions_tier_plan_id_threshold")),
    )
    op.create_index(op.f("ix_commissions_tier_plan_id"), "commissions_tier", ["plan_id"])
    op.create_table(
        "commissions_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("salesperson_id", sa.Integer(), nullable=False),
        sa.Column("accrued_on", sa.Date(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("invoice_number", sa.String(length=20), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("payment_date", sa.Date(), nullable=True),
        sa.Column("credit_note_id", sa.Integer(), nullable=True),
        sa.Column("credit_note_number", sa.String(length=20), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("collected", ScaledDecimal(2), nullable=False),
        sa.Column("base", ScaledDecimal(2), nullable=False),
        sa.Column("rate", ScaledDecimal(2), nullable=True),
        sa.Column("commission", ScaledDecimal(2), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('accrual', 'reversal')", name=op.f("ck_commissions_entry_kind")),
        sa.ForeignKeyConstraint(["salesperson_id"], ["core_user.id"],
                                name=op.f("fk_commissions_entry_salesperson_id_core_user"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["commissions_plan.id"],
                                name=op.f("fk_commissions_entry_plan_id_commissions_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions_entry")),
        sa.UniqueConstraint("source", "part", name=op.f("uq_commissions_entry_source_part")),
    )
    op.create_index(op.f("ix_commissions_entry_invoice_id"), "commissions_entry", ["invoice_id"])
    op.create_index("ix_commissions_entry_salesperson_day", "commissions_entry", ["salesperson_id", "accrued_on"])


def downgrade() -> None:
    op.drop_table("commissions_entry")
    op.drop_table("commissions_tier")
    op.drop_table("commissions_plan")
