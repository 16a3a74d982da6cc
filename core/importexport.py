"""CSV import and export of any registered kind of record (``crm import KIND FILE``).

Every row is validated with the kind's marshmallow schema before anything is written. By
default one bad row means nothing is written and every bad row is listed (line, field, reason);
with ``skip_invalid`` the good rows are written and the rejected ones, with their reason, go
to a CSV file. Exported cells that a spreadsheet would run as a formula are neutralised.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from marshmallow import ValidationError as SchemaError

from core.errors import CrmError, ValidationError
from core.schemas import flatten_messages

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER_RE = re.compile(r"^-?\d+([.,]\d+)?$")


@dataclass(frozen=True)
class DataKind:
    """A kind of record that can be imported and exported.

    :param name: the word on the command line (``partners``).
    :param schema: the marshmallow schema class validating one row.
    :param write: ``write(app, session, data, *, update, record, provided)`` writes one validated
        row (None when ``bulk`` imports whole files) and returns ``"created"``, ``"updated"`` or
        ``"skipped"``; raises :class:`CrmError` to reject the row. ``provided`` is the set of fields the row actually filled: an update
        changes only those (the schema's defaults fill the others for a creation).
    :param export: ``export(app, session)`` yields one dict per record, keys = ``columns``.
    :param columns: the CSV columns, in order.
    :param key: the column that identifies a record in a file (duplicates inside a file are refused).
    :param bulk: optional ``bulk(app, path, *, skip_invalid, update, rejects_path, mapping, progress)``
        that imports a whole file set-based and returns an object with ``as_dict()`` (the keys of
        :meth:`ImportResult.as_dict`); when given, ``crm import KIND`` uses it instead of writing
        row by row. It must keep the same contract: every row validated, all or nothing unless
        ``skip_invalid``, the rejects file, :func:`refusal` listing every bad row.
    """

    name: str
    schema: type
    write: Callable | None
    export: Callable
    columns: tuple[str, ...]
    key: str | None = None
    summary: str = ""
    bulk: Callable | None = None
    #: the extensible entity its rows are (``"partner"``): the fields modules add to it become
    #: ``module.field`` columns, validated with the row and handed to ``write`` as
    #: ``data["extensions"]`` (``{module: {field: text}}``); ``export`` rows carry them the same way
    entity: str | None = None


def kind_columns(app, kind: DataKind) -> tuple[str, ...]:
    """The kind's CSV columns, with the ``module.field`` columns of the enabled modules' extensions."""
    if kind.entity is None:
        return kind.columns
    from core.extensions import csv_columns

    return (*kind.columns, *csv_columns(app, kind.entity))


@dataclass
class ImportResult:
    """What an import did."""

    kind: str
    total: int = 0
    counts: dict = field(default_factory=lambda: {"created": 0, "updated": 0, "skipped": 0})
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    rejects_file: str | None = None

    def as_dict(self) -> dict:
        return {"kind": self.kind, "rows": self.total, **self.counts, "rejected": len(self.rejected),
                "rejects_file": self.rejects_file,
                "errors": [{"line": line, "field": fld, "message": msg} for line, fld, msg in self.rejected]}


def data_kinds(app) -> dict[str, DataKind]:
    """Every importable kind of the kernel and the enabled modules."""
    return app.gather("register_data_kinds", DataKind, "data kind")


def get_kind(app, name: str) -> DataKind:
    kinds = data_kinds(app)
    if name not in kinds:
        raise CrmError(f"unknown kind {name!r} (available: {', '.join(sorted(kinds))})")
    return kinds[name]


def read_csv(path: Path, columns: Iterable[str], mapping: dict[str, str] | None = None):
    """Read a CSV (``,`` or ``;``, UTF-8 with or without BOM) into ``(line, row)`` pairs.

    ``mapping`` renames file columns to field names. Unknown or duplicated columns are refused
    for the whole file, naming them. :func:`stream_csv` is the same reading, row after row.
    """
    header, rows = stream_csv(path, columns, mapping)
    return header, list(rows)


def stream_csv(path: Path, columns: Iterable[str], mapping: dict[str, str] | None = None):
    """``(header, rows)``: the header checked at once, then the ``(line, row)`` pairs as the file is read.

    For files too big to hold: memory stays flat however many rows. Errors are :func:`read_csv`'s,
    raised when the reading reaches them (a bad byte names its line).
    """
    path = Path(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise CrmError(f"{path}: no such file") from None
    except OSError as exc:
        raise CrmError(f"{path}: {exc.strerror}") from None
    try:
        first = handle.readline()
        if not first.strip() and not handle.read().strip():
            raise CrmError(f"{path}: the file is empty (a header line is expected)")
        handle.seek(0)
        first = first.splitlines()[0] if first.strip() else first
        delimiter = ";" if first.count(";") > first.count(",") else ","
        reader = csv.reader(handle, delimiter=delimiter, strict=True)
        mapping = mapping or {}
        header = [mapping.get(h.strip(), h.strip()) for h in next(reader)]
    except UnicodeDecodeError:
        handle.close()
        raise _not_utf8(path) from None
    except csv.Error as exc:
        handle.close()
        raise CrmError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    except BaseException:
        handle.close()
        raise
    allowed = set(columns)
    unknown = [h for h in header if h not in allowed]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if unknown or repeated:
        handle.close()
    if unknown:
        raise CrmError(f"{path}: line 1: unknown column{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(repr(u) for u in unknown)} (expected: {', '.join(columns)}; "
                       f"rename with --map FILECOLUMN=FIELD)")
    if repeated:
        raise CrmError(f"{path}: line 1: column {', '.join(repeated)} appears twice")

    def rows():
        with handle:
            last = reader.line_num
            try:
                for values in reader:
                    # a row's line is where it starts (a quoted cell may span several lines)
                    line, last = last + 1, reader.line_num
                    if not any(v.strip() for v in values):
                        continue
                    if len(values) != len(header):
                        yield line, {"__error__": f"{len(values)} cells for {len(header)} columns"}
                        continue
                    yield line, dict(zip(header, values))
            except UnicodeDecodeError:
                raise _not_utf8(path) from None
            except csv.Error as exc:
                raise CrmError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None

    return header, rows()


def _not_utf8(path: Path) -> CrmError:
    """The error naming the line of the first byte that is not UTF-8."""
    content = Path(path).read_bytes()
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        return CrmError(f"{path}: line {line}: not UTF-8 text")
    return CrmError(f"{path}: not UTF-8 text")


def run_import(app, kind: DataKind, path: Path, *, skip_invalid: bool = False, update: bool = False,
               rejects_path: Path | None = None, mapping: dict | None = None, progress=None) -> ImportResult:
    """Validate the whole file, then write it in one transaction (see the module's docstring).

    Needs ``core.import``, and the right of each record it writes (the services check theirs).
    """
    from core.security import require_app

    require_app(app, "core.import")
    if kind.bulk is not None:
        return kind.bulk(app, path, skip_invalid=skip_invalid, update=update, rejects_path=rejects_path,
                         mapping=mapping, progress=progress)
    header, rows = read_csv(path, kind_columns(app, kind), mapping)
    result = ImportResult(kind=kind.name, total=len(rows))
    schema = kind.schema()
    valid: list[tuple[int, dict, dict]] = []
    seen: dict = {}
    for line, row in rows:
        if "__error__" in row:
            result.rejected.append((line, "_row", row["__error__"]))
            continue
        nested = {}
        if kind.entity is not None:
            from core.extensions import load as load_extensions, nest

            row_fields, nested = nest(row)
        else:
            row_fields = row
        try:
            data = schema.load(row_fields)
            if kind.entity is not None:
                load_extensions(app, kind.entity, nested, None, creating=False)
                data["extensions"] = nested
        except SchemaError as exc:
            fld, message = next(flatten_messages(exc.messages))
            result.rejected.append((line, fld, message))
            continue
        except ValidationError as exc:
            result.rejected.append((line, exc.field or "_row", str(exc).split(f"{exc.field}: ", 1)[-1]))
            continue
        if kind.key and data.get(kind.key):
            key = str(data[kind.key]).lower()
            if key in seen:
                result.rejected.append((line, kind.key, f"same {kind.key} as line {seen[key]}"))
                continue
            seen[key] = line
        valid.append((line, row, data))
    if result.rejected and not skip_invalid:
        raise refusal(path, result)
    rejected_rows = {line for line, _, _ in result.rejected}
    with app.transaction() as session:
        for index, (line, row, data) in enumerate(valid):
            provided = frozenset(key for key, value in row.items() if str(value).strip())
            record = f"{Path(path).name}: line {line}"
            if skip_invalid:
                savepoint = session.begin_nested()
                try:
                    outcome = kind.write(app, session, data, update=update, record=record, provided=provided)
                    savepoint.commit()
                except CrmError as exc:
                    savepoint.rollback()
                    fld = getattr(exc, "field", None) or "_row"
                    result.rejected.append((line, fld, _reason(exc, record)))
                    rejected_rows.add(line)
                    continue
            else:
                try:
                    outcome = kind.write(app, session, data, update=update, record=record, provided=provided)
                except CrmError as exc:
                    fld = getattr(exc, "field", None) or "_row"
                    result.rejected.append((line, fld, _reason(exc, record)))
                    raise refusal(path, result) from None
            result.counts[outcome] += 1
            if progress:
                progress(index + 1, len(valid))
    if result.rejected:
        result.rejected.sort()
        target = rejects_path or Path(path).with_name(Path(path).stem + ".rejected.csv")
        write_rejects(target, header, rows, result.rejected)
        result.rejects_file = str(target)
    return result


def _reason(exc: CrmError, record: str) -> str:
    text = str(exc)
    if isinstance(exc, ValidationError) and exc.field:
        text = text.split(f"{exc.field}: ", 1)[-1]
    return text.replace(f"{record}: ", "")


def refusal(path: Path, result) -> ValidationError:
    """The error for a refused file: its first bad row, and every bad row in ``errors``.

    ``result.rejected`` holds ``(line, field, message)`` triples.
    """
    errors = [(f"line {line}", fld, msg) for line, fld, msg in sorted(result.rejected)]
    first_line, first_field, first_message = sorted(result.rejected)[0]
    more = len(errors) - 1
    message = first_message + (f" (and {more} more bad row{'s' if more > 1 else ''}; nothing was imported)"
                               if more else " (nothing was imported)")
    return ValidationError(message, record=f"{Path(path).name}: line {first_line}", field=first_field,
                           errors=errors)


def write_rejects(target: Path, header, rows, rejected) -> None:
    """Write the rejected rows, as read, with their line and reason, to ``target`` (CSV)."""
    reasons = {}
    for line, fld, message in rejected:
        reasons.setdefault(line, f"{fld}: {message}")
    from core.files import opener

    with open(target, "w", newline="", encoding="utf-8", opener=opener) as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", *header, "error"])
        for line, row in rows:
            if line in reasons:
                writer.writerow([line, *(neutralise(row.get(h, "")) for h in header), reasons[line]])


def neutralise(value) -> str:
    """Text for a CSV cell that a spreadsheet will show, never run (OWASP CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START) and not NUMBER_RE.match(text):
        return "'" + text
    return text


def write_export(app, kind: DataKind, handle) -> int:
    """Write every record of ``kind`` as CSV to ``handle``; returns the number of rows."""
    writer = csv.writer(handle)
    columns = kind_columns(app, kind)
    writer.writerow(columns)
    count = 0
    with app.transaction() as session:
        for row in kind.export(app, session):
            writer.writerow([neutralise(row.get(column)) for column in columns])
            count += 1
    return count
