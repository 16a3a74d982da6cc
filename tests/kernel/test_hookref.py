"""docs/hooks.md is generated from core/hookspecs.py and must not fall behind it."""

from pathlib import Path

from core.hookref import markdown, spec_functions

DOCS = Path(__file__).resolve().parents[2] / "docs" / "hooks.md"


def test_docs_hooks_md_is_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == markdown(), \
        "docs/hooks.md is out of date: run `crm hooks --markdown > docs/hooks.md`"


def test_every_hook_has_a_section_with_its_arguments_and_an_example():
    text = DOCS.read_text(encoding="utf-8")
    for function in spec_functions():
        section = text.split(f"## `{function.__name__}(", 1)[1].split("\n## ", 1)[0]
        assert "*Implemented by:*" in section
        assert "**returns**" in section
        assert "**Example**" in section and "```python" in section


def test_crm_hooks_markdown_prints_the_reference(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)  # no workspace needed
    result = subprocess.run([sys.executable, "-m", "core.cli.main", "hooks", "--markdown"],
                            capture_output=True, text=True, check=True)
    assert result.stdout == markdown()


def test_hooks_a_module_offers_are_listed_with_the_module_offering_them(workspace, crm):
    crm("modules", "enable", "billing")
    rows = {row["name"]: row for row in crm("hooks", "--json").json}
    assert rows["payment_recorded"]["offered_by"] == "billing"
    assert rows["payment_recorded"]["arguments"] == ["app", "session", "payment", "allocations", "cleared"]
    assert rows["order_confirmed"]["offered_by"] == "core" and "billing" in rows["order_confirmed"]["implemented_by"]
    assert "## `invoice_posted(app, session, invoice)` — offered by `billing`" in DOCS.read_text(encoding="utf-8")
