"""``crm plugin new NAME``: write a complete, installable Entonnoir module to start from.

The generated package has what every module has — a manifest, a table with its first
migration, a command group, a hook implementation, a template, a README and a passing test —
so ``pip install -e``, ``crm modules enable NAME`` and its own ``pytest`` work at once. The
files are the ``*.tmpl`` beside this module, with ``@name@``/``@package@``/``@dist@``/
``@title@`` replaced.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import ValidationError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
TEMPLATES = Path(__file__).parent / "files"

#: generated path -> template file; paths use the same placeholders as the contents.
LAYOUT = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "README.md": "README.md.tmpl",
    "@package@/__init__.py": "init.py.tmpl",
    "@package@/models.py": "models.py.tmpl",
    "@package@/services.py": "services.py.tmpl",
    "@package@/cli.py": "cli.py.tmpl",
    "@package@/templates/@name@/summary.txt": "summary.txt.tmpl",
    "@package@/migrations/versions/@name@_0001_first.py": "migration.py.tmpl",
    "tests/test_@name@.py": "test.py.tmpl",
}


def names(name: str) -> dict[str, str]:
    """The names a module called ``name`` uses: package, distribution, title."""
    if not NAME_RE.match(name or ""):
        raise ValidationError("use 2 to 31 lower-case letters, digits or '_', starting with a letter",
                              record=f"plugin {name!r}", field="name")
    return {"@package@": f"entonnoir_{name}", "@dist@": f"entonnoir-{name.replace('_', '-')}",
            "@title@": name.replace("_", " ").capitalize(), "@name@": name}


def _fill(text: str, values: dict[str, str]) -> str:
    for placeholder in ("@package@", "@dist@", "@title@", "@name@"):
        text = text.replace(placeholder, values[placeholder])
    return text


def scaffold(name: str, folder: Path) -> list[Path]:
    """Write module ``name`` into ``folder`` (which must not exist or be empty); returns the files."""
    values = names(name)
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise ValidationError(f"{folder} is not empty", record=f"plugin {name!r}", field="dir")
    written = []
    for target, source in LAYOUT.items():
        path = folder / _fill(target, values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill((TEMPLATES / source).read_text(encoding="utf-8"), values), encoding="utf-8")
        written.append(path)
    return written
