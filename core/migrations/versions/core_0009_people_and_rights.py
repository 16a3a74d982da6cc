"""people and rights: users' OS login and database role, custom roles, the audit trail

On PostgreSQL the trail defends itself: a trigger refuses every UPDATE, DELETE and TRUNCATE of
``core_audit`` (whoever asks, the owner included), and ``core_audit_row()`` is the trigger
function that modules attach to their money tables so a change made outside crm (psql, a script)
is recorded with ``current_user``. The crm session passes who and which command through
``set_config('crm.*')`` settings; those only add context, ``db_user`` is always the real role.

Revision ID: core_0009
Revises: core_0008
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = 'core_0009'
down_revision = 'core_0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('os_login', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('db_role', sa.String(length=63), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_core_user_os_login'), ['os_login'])
        batch_op.create_unique_constraint(batch_op.f('uq_core_user_db_role'), ['db_role'])
    op.create_table('core_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('scope', sa.String(length=4), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("scope IN ('own', 'team', 'all')", name=op.f('ck_core_role_scope')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_role')),
    sa.UniqueConstraint('name', name=op.f('uq_core_role_name'))
    )
    op.create_table('core_role_right',
    sa.Column('role_id', sa.Integer(), nullable=False),
    sa.Column('right', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['role_id'], ['core_role.id'], name=op.f('fk_core_role_right_role_id_core_role'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('role_id', 'right', name=op.f('pk_core_role_right'))
    )
    op.create_table('core_user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['core_user.id'], name=op.f('fk_core_user_role_user_id_core_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_core_user_role'))
    )
    op.create_table('core_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('logged_at', sa.DateTime(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=True),
    sa.Column('user_login', sa.String(length=64), nullable=True),
    sa.Column('real_user', sa.String(length=64), nullable=True),
    sa.Column('db_user', sa.String(length=64), nullable=True),
    sa.Column('command', sa.String(length=200), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('record_type', sa.String(length=60), nullable=True),
    sa.Column('record_id', sa.String(length=40), nullable=True),
    sa.Column('record_label', sa.String(length=100), nullable=True),
    sa.Column('changes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_core_audit'))
    )
    with op.batch_alter_table('core_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_core_audit_logged_at'), ['logged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_audit_business_date'), ['business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_audit_user_login'), ['user_login'], unique=False)
        batch_op.create_index(batch_op.f('ix_core_audit_record_label'), ['record_label'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
        for statement in postgresql_trail(schema):
            op.execute(statement)


def postgresql_trail(schema: str) -> list[str]:
    """The trail's guard and the row trigger function, writing into ``schema``'s ``core_audit``."""
    trail = f'"{schema}".core_audit'
    return [
        # operators may add to the trail, never rewrite it: not even the owner passes this trigger
        """CREATE FUNCTION core_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail cannot be changed: % refused for %', TG_OP, current_user
                USING ERRCODE = 'insufficient_privilege';
        END $$""",
        "CREATE TRIGGER core_audit_no_rewrite BEFORE UPDATE OR DELETE ON core_audit "
        "FOR EACH ROW EXECUTE FUNCTION core_audit_refuse()",
        "CREATE TRIGGER core_audit_no_truncate BEFORE TRUNCATE ON core_audit "
        "FOR EACH STATEMENT EXECUTE FUNCTION core_audit_refuse()",
        "REVOKE UPDATE, DELETE, TRUNCATE ON core_audit FROM PUBLIC",
        f"""CREATE FUNCTION core_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            old_row jsonb := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END;
            new_row jsonb := CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END;
            rec jsonb := coalesce(new_row, old_row);
            diff jsonb;
        BEGIN
            SELECT jsonb_object_agg(key, jsonb_build_array(old_row -> key, new_row -> key)) INTO diff
              FROM jsonb_object_keys(rec) AS key
             WHERE (old_row -> key) IS DISTINCT FROM (new_row -> key);
            IF TG_OP = 'UPDATE' AND diff IS NULL THEN
                RETURN NEW;
            END IF;
            INSERT INTO {trail} (logged_at, business_date, user_login, real_user, db_user, command, action,
                                 record_type, record_id, record_label, changes)
            VALUES (timezone('UTC', clock_timestamp())::timestamp(0),
                    coalesce(nullif(current_setting('crm.business_date', true), '')::date, current_date),
                    nullif(current_setting('crm.user', true), ''), nullif(current_setting('crm.real_user', true), ''),
                    current_user, nullif(current_setting('crm.command', true), ''),
                    CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update' ELSE 'delete' END,
                    TG_TABLE_NAME, rec ->> 'id', coalesce(rec ->> 'number', rec ->> 'reference', rec ->> 'name'),
                    diff::text);
            RETURN coalesce(NEW, OLD);
        END $$""",
    ]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS core_audit_row() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS core_audit_refuse() CASCADE")
    op.drop_table('core_audit')
    op.drop_table('core_user_role')
    op.drop_table('core_role_right')
    op.drop_table('core_role')
    with op.batch_alter_table('core_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_core_user_db_role'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_core_user_os_login'), type_='unique')
        batch_op.drop_column('db_role')
        batch_op.drop_column('os_login')
