"""kernel entities

Revision ID: core_0001
Revises: 
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa
import core.types


revision = 'core_0001'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade() -> None:

    op.create_table('core_product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('list_price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('vat_rate', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('stockable', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_product')),
    sa.UniqueConstraint('sku', name=op.f('uq_core_product_sku'))
    )
    op.create_table('core_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('sales', 'collections', 'purchasing', 'admin')", name=op.f('ck_core_user_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_user')),
    sa.UniqueConstraint('login', name=op.f('uq_core_user_login'))
    )
    op.create_table('core_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('is_customer', sa.Boolean(), nullable=False),
    sa.Column('is_supplier', sa.Boolean(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('street', sa.String(length=200), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=True),
    sa.Column('city', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('siren', sa.String(length=9), nullable=True),
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('vat_number', sa.String(length=20), nullable=True),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('company', 'person')", name=op.f('ck_core_partner_kind')),
    sa.ForeignKeyConstraint(['salesperson_id'], ['core_user.id'], name=op.f('fk_core_partner_salesperson_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_partner'))
    )
    with op.batch_alter_table('core_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_partner_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_partner_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_partner_siren'), ['siren'], unique=False)

    op.create_table('core_team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['core_user.id'], name=op.f('fk_core_team_leader_id_core_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_team')),
    sa.UniqueConstraint('name', name=op.f('uq_core_team_name'))
    )
    op.create_table('core_contact',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('function', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['core_partner.id'], name=op.f('fk_core_contact_partner_id_core_partner'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_contact'))
    )
    with op.batch_alter_table('core_contact', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_contact_partner_id'), ['partner_id'], unique=False)

    op.create_table('core_sales_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('salesperson_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('confirmed_at', sa.Date(), nullable=True),
    sa.Column('cancelled_at', sa.Date(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('origin', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('total_untaxed', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total_tax', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('total', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('draft', 'confirmed', 'cancelled')", name=op.f('ck_core_sales_order_state')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_partner.id'], name=op.f('fk_core_sales_order_customer_id_core_partner')),
    sa.ForeignKeyConstraint(['salesperson_id'], ['core_user.id'], name=op.f('fk_core_sales_order_salesperson_id_core_user')),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_core_sales_order_team_id_core_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_sales_order')),
    sa.UniqueConstraint('number', name=op.f('uq_core_sales_order_number'))
    )
    with op.batch_alter_table('core_sales_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_sales_order_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_sales_order_salesperson_id'), ['salesperson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_sales_order_state'), ['state'], unique=False)

    op.create_table('core_team_member',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['core_team.id'], name=op.f('fk_core_team_member_team_id_core_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_team_member_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('team_id', 'user_id', name=op.f('pk_core_team_member'))
    )
    op.create_table('core_sales_order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('quantity', core.types.ScaledDecimal(3), nullable=False),
    sa.Column('unit_price', core.types.ScaledDecimal(4), nullable=False),
    sa.Column('discount', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('vat_rate', core.types.ScaledDecimal(2), nullable=False),
    sa.Column('subtotal', core.types.ScaledDecimal(2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_core_sales_order_line_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['core_sales_order.id'], name=op.f('fk_core_sales_order_line_order_id_core_sales_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['core_product.id'], name=op.f('fk_core_sales_order_line_product_id_core_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_sales_order_line')),
    sa.UniqueConstraint('order_id', 'sequence', name=op.f('uq_core_sales_order_line_order_id_sequence'))
    )
    with op.batch_alter_table('core_sales_order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_sales_order_line_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_sales_order_line_product_id'), ['product_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('core_sales_order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_sales_order_line_product_id'))
        batch_op.drop_index(batch_op.f('ix_core_sales_order_line_order_id'))

    op.drop_table('core_sales_order_line')
    op.drop_table('core_team_member')
    with op.batch_alter_table('core_sales_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_sales_order_state'))
        batch_op.drop_index(batch_op.f('ix_core_sales_order_salesperson_id'))
        batch_op.drop_index(batch_op.f('ix_core_sales_order_customer_id'))

    op.drop_table('core_sales_order')
    with op.batch_alter_table('core_contact', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_contact_partner_id'))

    op.drop_table('core_contact')
    op.drop_table('core_team')
    with op.batch_alter_table('core_partner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_core_partner_siren'))
        batch_op.drop_index(batch_op.f('ix_core_partner_name'))
        batch_op.drop_index(batch_op.f('ix_core_partner_email'))

    op.drop_table('core_partner')
    op.drop_table('core_user')
    op.drop_table('core_product')

