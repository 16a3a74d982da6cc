"""Test plugin that must never be imported while disabled."""

MANIFEST = {"name": "fk_unused", "version": "1.0", "depends": [], "migrations": None}

raise RuntimeError("fk_unused was imported although it is not enabled")
