"""A config that checked clean is remembered between processes (core.configmemo): the next command
skips the check and marshmallow, and any change of the file, the environment, the installed
modules or the checking code makes the check run again."""

import os
import pickle
import subprocess
import sys

import pytest

from core import configmemo
from core.app import App
from core.config import load_config

PROBE = """
import sys
from core.cli.main import main
code = 0
try:
    main(["--config", sys.argv[1], *sys.argv[2:]])
except SystemExit as exc:
    code = exc.code
print("MARSHMALLOW:" + str("marshmallow" in sys.modules))
sys.exit(code)
"""


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The memo's folder under this test's own temporary directory."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    return folder


def _run(workspace, private_tmp, *args):
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    return subprocess.run([sys.executable, "-c", PROBE, str(workspace.config_path), *args],
                          capture_output=True, text=True, env=env)


def _entry_file(private_tmp):
    files = list((private_tmp / f"entonnoir-{os.getuid()}").glob("config-*.pickle"))
    assert len(files) == 1, files
    return files[0]


@pytest.mark.modules("funnel", "billing", "procurement")
def test_the_next_command_skips_the_check_and_marshmallow(workspace, private_tmp):
    first = _run(workspace, private_tmp, "invoice", "list")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("MARSHMALLOW:True")  # checked: the schemas are marshmallow's
    assert oct(_entry_file(private_tmp).stat().st_mode & 0o777) == "0o600"
    for command in (["invoice", "list"], ["partner", "list"], ["deal", "list"], ["po", "list"], ["aging"],
                    ["order", "list"], ["lead", "list"], ["product", "list"]):
        again = _run(workspace, private_tmp, *command)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().endswith("MARSHMALLOW:False"), command


@pytest.mark.modules("billing")
def test_an_edited_file_is_checked_again_and_a_bad_one_never_remembered(workspace, private_tmp):
    assert _run(workspace, private_tmp, "invoice", "list").returncode == 0
    entry = _entry_file(private_tmp)
    workspace.config_path.write_text(workspace.config_path.read_text() + "\n[billing]\npost_on_confirn = true\n")
    broken = _run(workspace, private_tmp, "invoice", "list")
    assert broken.returncode == 1
    assert "billing.post_on_confirn: unknown key (did you mean post_on_confirm?)" in broken.stderr
    assert "post_on_confirn" not in pickle.loads(entry.read_bytes())["text"]  # the clean text is still the entry's
    workspace.config_path.write_text(workspace.config_path.read_text().replace("post_on_confirn", "post_on_confirm"))
    fixed = _run(workspace, private_tmp, "invoice", "list")
    assert fixed.returncode == 0 and fixed.stdout.strip().endswith("MARSHMALLOW:True")
    assert "post_on_confirm = true" in pickle.loads(entry.read_bytes())["text"]


@pytest.mark.modules("billing")
def test_recalled_config_reads_as_the_checked_one(workspace, private_tmp):
    checked = workspace.app()
    checked.pm
    assert checked.config.checked_with is None  # read and checked: nothing was remembered yet
    recalled = workspace.app()
    assert recalled.config.checked_with is not None
    recalled.pm
    assert "schemas" not in vars(recalled.config) or not recalled.config.schemas  # no schema was built
    for name in ("billing", "notifications", "jobs", "workspace", "templates"):
        assert recalled.settings(name) == checked.settings(name), name
    assert recalled.config.company == checked.config.company
    assert recalled.config.database_url == checked.config.database_url
    assert recalled.config.enabled == checked.config.enabled == ["billing"]
    checked.close()
    recalled.close()


@pytest.mark.modules("billing")
def test_a_changed_source_the_environment_or_the_modules_make_it_check_again(workspace, private_tmp,
                                                                            tmp_path, monkeypatch):
    app = workspace.app()
    app.pm
    app.close()
    text = workspace.config_path.read_text()
    entry_file = _entry_file(private_tmp)
    entry = pickle.loads(entry_file.read_bytes())
    assert any(source.endswith(os.path.join("core", "configschema.py")) for source in entry["sources"])
    assert any(source.endswith(os.path.join("billing", "settings_schema.py")) for source in entry["sources"])
    assert configmemo.recall(workspace.config_path, text) is not None

    # a source file of the checking code changes
    source = tmp_path / "schema_source.py"
    source.write_text("# a module's schema\n")
    entry["sources"][str(source)] = source.stat().st_mtime_ns
    entry_file.write_bytes(pickle.dumps(entry))
    assert configmemo.recall(workspace.config_path, text) is not None
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 1_000_000))
    assert configmemo.recall(workspace.config_path, text) is None
    source.unlink()
    assert configmemo.recall(workspace.config_path, text) is None
    del entry["sources"][str(source)]
    entry_file.write_bytes(pickle.dumps(entry))

    # another text, another environment
    assert configmemo.recall(workspace.config_path, text + "\n") is None
    monkeypatch.setenv("CRM_DATABASE_URL", "sqlite:///elsewhere.db")
    assert configmemo.recall(workspace.config_path, text) is None
    monkeypatch.delenv("CRM_DATABASE_URL")

    # a secret of the environment is part of the key, never written down
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "s3cret-of-the-env")
    app = workspace.app()
    app.pm
    app.close()
    assert configmemo.recall(workspace.config_path, text) is not None
    assert all(b"s3cret-of-the-env" not in file.read_bytes() for file in entry_file.parent.iterdir())
    monkeypatch.delenv("CRM_SMTP_PASSWORD")

    # a module installed or removed since
    config = configmemo.recall(workspace.config_path, text)
    entries = App(config).entries
    assert configmemo.still_valid(config, entries)
    fewer = {name: entry for name, entry in entries.items() if name != "procurement"}
    assert not configmemo.still_valid(config, fewer)


@pytest.mark.modules("billing")
def test_nothing_is_remembered_in_a_folder_others_may_read(workspace, private_tmp):
    folder = private_tmp / f"entonnoir-{os.getuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    app = workspace.app()
    app.pm
    app.close()
    assert list(folder.iterdir()) == []
    assert load_config(workspace.config_path).checked_with is None


@pytest.mark.modules("procurement")
def test_a_config_changed_in_memory_is_not_remembered_for_the_file(workspace, private_tmp, crm):
    """Enabling a module makes the app's config from the one read (``replace``): that one no longer
    says what the file says, so it is checked and not remembered under the file's text (the file
    back to its first text must not read as the module still enabled)."""
    crm("modules", "disable", "procurement")
    crm("modules", "enable", "procurement")
    crm("modules", "disable", "procurement")
    assert load_config(workspace.config_path).enabled == []
    states = {row["name"]: row["state"] for row in crm("modules", "list", "--json").json}
    assert states["procurement"] == "disabled"
    crm("modules", "enable", "procurement")
    assert load_config(workspace.config_path).enabled == ["procurement"]


@pytest.mark.modules("billing")
def test_a_recalled_config_names_its_file_as_this_process_does(workspace, private_tmp, monkeypatch):
    app = workspace.app()
    app.pm
    app.close()
    monkeypatch.chdir(workspace.folder.parent)
    relative = load_config(f"{workspace.folder.name}/crm.toml")
    assert relative.checked_with is not None and str(relative.path) == f"{workspace.folder.name}/crm.toml"
    monkeypatch.chdir(workspace.folder)
    here = load_config()
    assert here.checked_with is not None and here.path == workspace.folder / "crm.toml"

