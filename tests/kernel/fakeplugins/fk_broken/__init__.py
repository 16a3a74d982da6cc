"""Test plugin whose import fails."""

import fk_this_module_does_not_exist  # noqa: F401

MANIFEST = {"name": "fk_broken", "version": "1.0", "depends": [], "migrations": None}
