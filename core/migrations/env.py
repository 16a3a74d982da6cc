"""Alembic environment for Entonnoir: run on the connection the kernel hands over.

The kernel builds the Alembic config in code (``core.migrate``): one version folder per module,
each module its own branch (label = module name) that depends on the kernel's ``core`` branch.
"""

from alembic import context

from core.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
