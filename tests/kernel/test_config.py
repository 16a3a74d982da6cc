"""crm.toml: loading, validation naming the dotted key, plugin sections, environment overrides."""

from pathlib import Path

import pytest

from core.config import Config, load_config, parse_config, resolve_database_url, write_enabled
from core.errors import ConfigError

GOOD = """\
# my comment
[modules]
enabled = ["billing"]  # trailing comment

[database]
url = "sqlite:///data/crm.db"

[company]
name = "Dupont SAS"
siren = "732829320"
vat_number = "FR44732829320"
country = "FR"

[billing]
payment_term_days = 30
footer = "Merci"
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    monkeypatch.delenv("CRM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CRM_CONFIG", raising=False)


def write(tmp_path: Path, text: str, name: str = "crm.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_loads(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.enabled == ["billing"]
    # the identity keys of an older file are kept aside, for `crm migrate` to copy into the database once
    assert config.company.legacy["name"] == "Dupont SAS"
    assert config.company.legacy["siren"] == "732829320"
    assert config.company.legacy["vat_number"] == "FR44732829320"
    assert config.company.currency == "EUR"
    assert config.path == tmp_path / "crm.toml"


def test_missing_sections_take_defaults(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.enabled == []
    assert (config.company.locale, config.company.currency, config.company.legacy) == ("fr_FR", "EUR", {})
    assert config.database_url == "sqlite:///" + str((tmp_path / "crm.db").resolve())


def test_toml_syntax_error_names_the_file(tmp_path):
    path = write(tmp_path, "[modules\nenabled = [", name="broken.toml")
    with pytest.raises(ConfigError, match=r"^broken\.toml: not valid TOML"):
        load_config(path)


@pytest.mark.parametrize("section, line, key", [
    ("company", 'siren = "123456789"', "company.siren"),
    ("company", 'siren = "73282932"', "company.siren"),
    ("company", 'vat_number = "FR00732829320"', "company.vat_number"),
    ("company", 'country = "France"', "company.country"),
    ("company", 'country = "fr"', "company.country"),
    ("company", 'currency = "USD"', "company.currency"),
    ("company", "name = 12", "company.name"),
    ("modules", 'enabled = "billing"', "modules.enabled"),
    ("modules", 'enabled = [""]', "modules.enabled"),
    ("modules", "enabled = [1]", "modules.enabled"),
    ("database", 'url = ""', "database.url"),
])
def test_bad_value_names_the_dotted_key(section, line, key):
    with pytest.raises(ConfigError) as info:
        parse_config(f"[{section}]\n{line}\n", Path("/x/crm.toml"))
    assert str(info.value).startswith(f"crm.toml: {key}")


def test_siren_message_says_what_is_wrong():
    with pytest.raises(ConfigError, match=r"company\.siren: invalid SIREN '123456789'"):
        parse_config('[company]\nsiren = "123456789"\n', None)


@pytest.mark.parametrize("section", ["company", "modules", "database"])
def test_unknown_key_in_kernel_section(section):
    with pytest.raises(ConfigError) as info:
        parse_config(f'[{section}]\nfoo = "bar"\n', Path("crm.toml"))
    assert str(info.value) == f"crm.toml: {section}.foo: unknown key"


def test_duplicate_module_in_enabled():
    with pytest.raises(ConfigError, match=r"modules\.enabled: billing listed twice"):
        parse_config('[modules]\nenabled = ["billing", "funnel", "billing"]\n', None)


def test_plugin_sections_are_kept_as_they_are(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.section("billing") == {"payment_term_days": 30, "footer": "Merci"}
    assert config.section("procurement") == {}
    assert set(config.sections) == {"billing"}


def test_crm_database_url_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_DATABASE_URL", "postgresql://crm@db.example.com/crm")
    config = load_config(write(tmp_path, GOOD))
    assert config.database_url == "postgresql://crm@db.example.com/crm"


def test_relative_sqlite_path_is_relative_to_the_config_folder(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    folder = tmp_path / "ws"
    folder.mkdir()
    config = load_config(write(folder, GOOD))
    assert config.database_url == "sqlite:///" + str((folder / "data" / "crm.db").resolve())


@pytest.mark.parametrize("url", ["sqlite:////abs/crm.db", "sqlite://", "sqlite:///:memory:",
                                 "postgresql://u@h/db"])
def test_absolute_memory_and_server_urls_are_untouched(url, tmp_path):
    assert resolve_database_url(url, tmp_path) == url


def test_crm_config_env_is_used(tmp_path, monkeypatch):
    path = write(tmp_path, GOOD, name="other.toml")
    monkeypatch.setenv("CRM_CONFIG", str(path))
    monkeypatch.chdir(tmp_path)
    assert load_config().path == path


def test_explicit_path_beats_crm_config(tmp_path, monkeypatch):
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "nope.toml"))
    path = write(tmp_path, GOOD)
    assert load_config(path).enabled == ["billing"]


def test_default_is_crm_toml_in_the_current_folder(tmp_path, monkeypatch):
    write(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path)
    assert load_config().path == tmp_path / "crm.toml"


def test_missing_file_suggests_crm_init(tmp_path):
    with pytest.raises(ConfigError, match=r"no configuration at .*crm\.toml: run `crm init`"):
        load_config(tmp_path / "crm.toml")


def test_write_enabled_keeps_comments_and_other_sections(tmp_path):
    path = write(tmp_path, GOOD)
    write_enabled(path, ["billing", "funnel"])
    text = path.read_text(encoding="utf-8")
    assert "# my comment" in text
    assert "[billing]" in text and 'footer = "Merci"' in text
    config = load_config(path)
    assert config.enabled == ["billing", "funnel"]
    assert config.section("billing")["payment_term_days"] == 30
    assert not (tmp_path / "crm.toml.tmp").exists()


def test_write_enabled_adds_a_missing_modules_table(tmp_path):
    path = write(tmp_path, '[company]\nname = "X"\n')
    write_enabled(path, ["funnel"])
    assert load_config(path).enabled == ["funnel"]


def test_in_memory_config_folder_is_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Config(path=None).folder == Path.cwd()
