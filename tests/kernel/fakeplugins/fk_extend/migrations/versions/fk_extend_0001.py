"""fk_extend: its extension tables

Revision ID: fk_extend_0001
"""

import sqlalchemy as sa
from alembic import op

from core.types import ScaledDecimal

revision = "fk_extend_0001"
down_revision = None
branch_labels = ("fk_extend",)
depends_on = "core"


def upgrade() -> None:
    op.create_table("fk_extend_partner",
                    sa.Column("partner_id", sa.Integer(), nullable=False),
                    sa.Column("credit_limit", ScaledDecimal(2), nullable=True),
                    sa.Column("segment", sa.String(length=20), nullable=True),
                    sa.ForeignKeyConstraint(["partner_id"], ["core_partner.id"], ondelete="CASCADE",
                                            name=op.f("fk_fk_extend_partner_partner_id_core_partner")),
                    sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_fk_extend_partner")))
    op.create_table("fk_extend_product",
                    sa.Column("product_id", sa.Integer(), nullable=False),
                    sa.Column("warranty_months", sa.Integer(), nullable=True),
                    sa.ForeignKeyConstraint(["product_id"], ["core_product.id"], ondelete="CASCADE",
                                            name=op.f("fk_fk_extend_product_product_id_core_product")),
                    sa.PrimaryKeyConstraint("product_id", name=op.f("pk_fk_extend_product")))
    op.create_table("fk_extend_order",
                    sa.Column("order_id", sa.Integer(), nullable=False),
                    sa.Column("project_code", sa.String(length=20), nullable=True),
                    sa.ForeignKeyConstraint(["order_id"], ["core_sales_order.id"], ondelete="CASCADE",
                                            name=op.f("fk_fk_extend_order_order_id_core_sales_order")),
                    sa.PrimaryKeyConstraint("order_id", name=op.f("pk_fk_extend_order")))
    op.create_table("fk_extend_invoice",
                    sa.Column("invoice_id", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("cost_centre", sa.String(length=20), nullable=True),
                    sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_fk_extend_invoice")))


def downgrade() -> None:
    for table in ("fk_extend_invoice", "fk_extend_order", "fk_extend_product", "fk_extend_partner"):
        op.drop_table(table)
