"""The template environment: module folders, business overrides first, locale-aware filters."""

import datetime as dt
from decimal import Decimal

import pytest

from core.errors import CrmError
from core.rendering import render


@pytest.fixture
def overrides(workspace):
    folder = workspace.folder / "my-templates"
    (folder / "core").mkdir(parents=True)
    with open(workspace.config_path, "a", encoding="utf-8") as handle:
        handle.write('\n[templates]\nfolder = "my-templates"\n')
    return folder


def test_filters_speak_french_by_default(app, tmp_path):
    env_text = "{{ amount|money }} | {{ day|date }} | {{ day|shortdate }} | {{ rate|percent }}"
    from core.rendering import environment

    out = environment(app).from_string(env_text).render(amount=Decimal("1234.56"), day=dt.date(2026, 11, 28),
                                                        rate=Decimal("5.50"))
    assert out == "1\u202f234,56\xa0€ | 28 novembre 2026 | 28/11/2026 | 5,5\xa0%"


def test_english_on_request(app):
    from core.rendering import environment

    out = environment(app, locale="en_GB").from_string("{{ a|money }} {{ d|date }}").render(
        a=Decimal("1234.5"), d=dt.date(2026, 2, 1))
    assert out == "€1,234.50 1 February 2026"


def test_html_is_autoescaped_text_is_not(app):
    html = render(app, "core/layout.html")
    assert "<strong>Entonnoir Test SAS</strong>" in html and 'lang="fr"' in html
    text = render(app, "core/notification.txt", greeting="Bonjour <Anne>,", text="a & b")
    assert text.startswith("Bonjour <Anne>,") and "a & b" in text


def test_an_override_wins_and_can_extend_the_default(workspace, overrides):
    (overrides / "core" / "layout.html").write_text(
        '{% extends "default:core/layout.html" %}{% block title %}Surchargé{% endblock %}')
    app = workspace.app()
    html = render(app, "core/layout.html")
    assert "<title>Surchargé</title>" in html and "<strong>Entonnoir Test SAS</strong>" in html


def test_errors_are_one_line_for_people(workspace, overrides):
    (overrides / "core" / "notification.txt").write_text("{% if %}")
    app = workspace.app()
    with pytest.raises(CrmError, match="notification.txt: line 1"):
        render(app, "core/notification.txt", greeting="x", text="y")
    with pytest.raises(CrmError, match="'nowhere.txt' not found"):
        render(app, "nowhere.txt")
    (overrides / "core" / "notification.txt").write_text("{{ missing }}")
    with pytest.raises(CrmError, match="'missing' is undefined"):
        render(workspace.app(), "core/notification.txt")


def test_templates_are_written_in_english_and_read_in_the_company_language(app):
    from core.rendering import environment, gettext

    template = '{{ _("Period report") }} / {{ _("No such phrase") }}'
    assert environment(app).from_string(template).render() == "Rapport de période / No such phrase"
    assert environment(app, locale="en_GB").from_string(template).render() == "Period report / No such phrase"
    assert gettext(app)("Plan") == "Prévisions" and gettext(app, "en_US")("Plan") == "Plan"


def test_a_business_rewords_one_phrase_without_copying_a_template(workspace, overrides):
    (overrides / "i18n").mkdir()
    (overrides / "i18n" / "fr.po").write_text('msgid "Plan"\nmsgstr "Plan commercial"\n', encoding="utf-8")
    app = workspace.app()
    from core.rendering import gettext

    assert gettext(app)("Plan") == "Plan commercial"  # the override folder's catalog is read first
    assert gettext(app)("Period report") == "Rapport de période"  # the rest still comes from the modules


def test_an_edited_template_cannot_reach_python_internals(workspace, overrides):
    (overrides / "core" / "notification.txt").write_text("{{ text.__class__.__mro__[1].__subclasses__() }}")
    app = workspace.app()
    with pytest.raises(CrmError, match="refused by the sandbox"):
        render(app, "core/notification.txt", greeting="x", text="y")


def test_compiled_templates_are_kept_between_processes_and_an_edit_is_seen(workspace, overrides):
    """The bytecode cache spares the next process the compile, never an edited template's new text."""
    from core.rendering import environment

    page = overrides / "core" / "layout.html"
    page.write_text('{% extends "default:core/layout.html" %}{% block title %}Premier{% endblock %}')
    first = workspace.app()
    assert "<title>Premier</title>" in render(first, "core/layout.html")
    cache = environment(first).bytecode_cache
    source = environment(first).loader.get_source(environment(first), "core/layout.html")[1]
    bucket = cache.get_bucket(environment(first), "core/layout.html", source, page.read_text())
    assert bucket.code is not None  # a new app (another process) would load this, not compile
    page.write_text('{% extends "default:core/layout.html" %}{% block title %}Second{% endblock %}')
    assert "<title>Second</title>" in render(workspace.app(), "core/layout.html")
