"""Fixtures of the billing tests (the helpers are in billing_support.py)."""

from __future__ import annotations

import pytest
from billing_support import Books


@pytest.fixture
def books(workspace):
    found = Books(workspace).setup()
    yield found
    found.close()
