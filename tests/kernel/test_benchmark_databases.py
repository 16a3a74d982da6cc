"""The benchmarks' database plumbing (benchmarks/_db.py): a fresh workspace on each database, loads by
COPY or executemany, sequences moved past the ids a load wrote, schemas dropped after the suite,
and the table that sets the databases side by side. No timing here: benchmarks measure, tests check."""

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # benchmarks/ is not installed: the checkout's
from benchmarks import _db  # noqa: E402
from benchmarks.__main__ import _databases, _print_suite  # noqa: E402


def _servers():
    return ["sqlite"] + ([os.environ["CRM_TEST_DATABASE_URL"]] if os.environ.get("CRM_TEST_DATABASE_URL") else [])


@pytest.fixture(params=_servers(), ids=lambda url: _db.name(url))
def server(request):
    return request.param


def _schemas(url: str) -> set[str]:
    from core.db import normalise_url

    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT nspname FROM pg_namespace")).scalars())
    finally:
        engine.dispose()


def test_a_workspace_per_database_loaded_settled_and_dropped(server, tmp_path):
    from core.models import Partner
    from core.services.partners import create_partner

    with _db.using(server):
        assert _db.current() == _db.name(server)
        app = _db.init_workspace(tmp_path / "ws", name="Bench SAS")
        try:
            assert app.engine.dialect.name == _db.name(server)
            with app.engine.begin() as connection:
                written = _db.bulk(connection, "core_partner", ["id", "name", "kind", "is_customer", "is_supplier",
                                                                "country", "active", "created_at"],
                                   [(n, f"P{n}", "company", True, False, "FR", True, "2026-01-01 00:00:00")
                                    for n in (1, 2, 40)])
            assert written == 3
            _db.settle(app.engine)
            with app.transaction() as session:  # the sequence is past the ids the load wrote
                created = create_partner(app, session, {"name": "After the load"})
                assert created.id > 40
                assert session.query(Partner).count() == 4
            if _db.is_postgres():
                schema = app.engine.url.query["options"].split("=")[-1]
                assert schema in _schemas(server)
        finally:
            app.close()
    if _db.name(server) == "postgresql":
        assert schema not in _schemas(server)  # the suite's schema is gone
    assert _db.current() == "sqlite"


def test_database_choices():
    postgres = _db.postgres_url()
    assert _databases([]) == ["sqlite"]
    assert _databases(["both"]) == ["sqlite", postgres]
    assert _databases(["sqlite", "postgresql", "both"]) == ["sqlite", postgres]
    with pytest.raises(SystemExit, match="--database mysql"):
        _databases(["mysql"])


def test_figures_side_by_side_with_their_targets(capsys):
    _print_suite("billing", {
        "sqlite": [{"benchmark": "reminder run", "seconds": 1.5, "target_s": 15.0, "x_floor": 1.6, "target_x": 3.0}],
        "postgresql": [{"benchmark": "reminder run", "seconds": 2.5, "target_s": 15.0, "x_floor": 2.1,
                        "target_x": 3.0, "server_mb": 12.0}],
    })
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "== billing"
    assert lines[1].split() == ["benchmark", "/", "figure", "target", "sqlite", "postgresql"]
    assert lines[2].strip() == "reminder run"
    assert lines[3].split() == ["seconds", "15.0", "1.5", "2.5"]
    assert lines[4].split() == ["x_floor", "3.0", "1.6", "2.1"]
    assert lines[5].split() == ["server_mb", "12.0"]
