"""The company's legal identity: one row of ``core_company``, read by every document we send.

Code de commerce L441-9 and R123-237 and CGI art. 242 nonies A list what an invoice must say
about its seller: name, legal form, address, SIREN, registry (RCS and its city, or RM/RNE),
share capital, VAT number; the 2026 e-invoicing reform adds the "TVA d'après les débits" option
and the electronic address invoices are received at. :func:`missing_mentions` says which of
them are still missing, and posting refuses an invoice until they are given (one line naming
each field and the command that sets it).

Documents read the identity through :func:`identity` (a plain dict, the shape an invoice
freezes at posting, so a reprint says what the original said).
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from core.errors import ValidationError
from core.models import Company

#: every field, with its label (for people) in the order ``crm company show`` prints them
FIELDS = [("name", "Name"), ("legal_form", "Legal form"), ("street", "Street"), ("postal_code", "Postal code"),
          ("city", "City"), ("country", "Country"), ("siren", "SIREN"), ("siret", "Head-office SIRET"),
          ("trade_register", "Trade register"), ("register_city", "Register city"), ("share_capital", "Share capital"),
          ("vat_number", "VAT number"), ("iban", "IBAN"), ("bic", "BIC"), ("bank", "Bank"),
          ("vat_on_debits", "VAT on debits"),
          ("vat_franchise", "VAT franchise (art. 293 B)"), ("einvoice_address", "E-invoicing address"),
          ("einvoice_scheme", "E-invoicing scheme"), ("email", "E-mail"), ("phone", "Phone"), ("logo", "Logo")]
#: the e-invoicing scheme when only an address is given, or none: the SIREN-based French address
DEFAULT_SCHEME = "0225"


def get_company(session) -> Company:
    """The company row (created empty if a database somehow lacks it)."""
    company = session.get(Company, 1)
    if company is None:
        company = Company(id=1, country="FR", vat_on_debits=False, vat_franchise=False)
        session.add(company)
        session.flush()
    return company


def flag(field: str) -> str:
    """The option of ``crm company set`` (and ``crm init``) that sets ``field``."""
    return "--" + field.replace("_", "-")


def set_company(app, session, raw: dict, *, folder: Path | None = None) -> dict:
    """Change the fields given in ``raw`` (validated with the others as a whole); ``{field: (old, new)}``.

    ``logo`` is a file path: the file is copied into the workspace (``logo-<hash>.<ext>`` beside
    ``crm.toml``, named by its content) so documents keep finding it.
    """
    from core.schemas import CompanySchema, load
    from core.security import require

    require(app, session, "core.company")
    company = get_company(session)
    raw = dict(raw)
    current = {f: getattr(company, f) for f, _ in FIELDS if getattr(company, f) is not None}
    current = {k: (v if isinstance(v, bool) else str(v)) for k, v in current.items()}
    data = load(CompanySchema(), {**current, **raw}, "company")
    if "logo" in raw and data.get("logo") and data["logo"] != company.logo:
        data["logo"] = _copy_logo(Path(raw["logo"]), folder or app.config.folder)
    if data.get("einvoice_address") and not data.get("einvoice_scheme"):
        data["einvoice_scheme"] = DEFAULT_SCHEME
    changes = {}
    for field, _ in FIELDS:
        value = data.get(field)
        if field in ("vat_on_debits", "vat_franchise"):
            value = bool(value)
        if getattr(company, field) != value:
            changes[field] = (getattr(company, field), value)
            setattr(company, field, value)
    session.flush()
    app.__dict__.pop("_company_identity", None)
    return changes


def _copy_logo(source: Path, folder: Path) -> str:
    if not source.is_file():
        raise ValidationError(f"{source}: no such file", record="company", field="logo")
    suffix = source.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg", ".svg"):
        raise ValidationError(f"{source.name}: a logo is a PNG, JPEG or SVG file", record="company", field="logo")
    import hashlib

    # named by its content: a new logo never replaces the one invoices posted earlier print
    content = source.read_bytes()
    target = folder / f"logo-{hashlib.sha256(content).hexdigest()[:12]}{suffix}"
    if not target.exists():
        shutil.copyfile(source, target)
    return target.name


def company_dict(company: Company) -> dict:
    """Stable JSON shape of the identity (``crm company show --json``), with what posting still needs."""
    data = {field: getattr(company, field) for field, _ in FIELDS}
    data["share_capital"] = None if company.share_capital is None else str(company.share_capital)
    data["missing"] = [field for field, _ in missing_mentions(company)]
    return data


def identity(company: Company) -> dict:
    """The identity as documents print it and invoices freeze it (plain values, JSON-ready)."""
    data = {field: getattr(company, field) for field, _ in FIELDS}
    data["share_capital"] = None if company.share_capital is None else str(company.share_capital)
    if not data["einvoice_address"] and company.siren:
        # the French directory addresses a company by its SIREN unless it chose another address
        data["einvoice_address"], data["einvoice_scheme"] = company.siren, DEFAULT_SCHEME
    data["registration"] = registration_text(data)
    data["display_name"] = display_name(data.get("name"), data.get("legal_form"))
    return data


def display_name(name: str | None, legal_form: str | None) -> str:
    """The name with its legal form ("Atelier Durand SARL"), once: "Lumière & Cie SAS" stays as it is."""
    name = name or ""
    if not legal_form or name.upper().split()[-1:] == [legal_form.upper()]:
        return name
    return f"{name} {legal_form}"


def registration_text(data: dict) -> str | None:
    """"RCS Lyon 732 829 320" (R123-237: the registry, its city and the SIREN), or None."""
    if not data.get("trade_register") or not data.get("siren"):
        return None
    siren = data["siren"]
    spaced = f"{siren[:3]} {siren[3:6]} {siren[6:]}"
    return " ".join(part for part in (data["trade_register"], data.get("register_city"), spaced) if part)


def current(app) -> dict:
    """The identity for templates rendered outside a document's transaction (cached on the app).

    ``set_company`` clears the cache of the app it ran on; another process sees a change at its
    next command.
    """
    cached = app.__dict__.get("_company_identity")
    if cached is None:
        cached = identity(_read_outside_transactions(app))
        app.__dict__["_company_identity"] = cached
    return cached


def _read_outside_transactions(app) -> Company:
    """The row read on a connection of its own, without taking SQLite's write lock (a template may
    be rendered while the caller's transaction holds it: delivering the outbox, say)."""
    table = Company.__table__
    columns = [column.name for column in table.columns]
    raw = app.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"SELECT {', '.join(columns)} FROM core_company WHERE id = 1")  # noqa: S608 - our names
        row = cursor.fetchone()
        cursor.close()
    finally:
        raw.close()
    if row is None:
        return Company(id=1, country="FR", vat_on_debits=False, vat_franchise=False)
    values = {name: table.c[name].type.process_result_value(value, None)
              if hasattr(table.c[name].type, "scale") else value for name, value in zip(columns, row)}
    values["vat_on_debits"] = bool(values["vat_on_debits"])
    values["vat_franchise"] = bool(values["vat_franchise"])
    values.pop("created_at")
    return Company(**values)


def missing_mentions(company) -> list[tuple[str, str]]:
    """``(field, label)`` of every mandatory mention the company has not given yet, in order.

    Mandatory on an invoice (L441-9, R123-237, CGI 242 nonies A): name, legal form, address,
    SIREN, VAT number, the registry with its city (RNE has no city), and the share capital of a
    company that has one (not a sole trader: EI, EIRL).
    """
    from core.schemas import WITHOUT_CAPITAL

    get = company.get if isinstance(company, dict) else (lambda f: getattr(company, f))
    needed = ["name", "legal_form", "street", "postal_code", "city", "siren", "vat_number", "trade_register"]
    if get("trade_register") != "RNE":
        needed.append("register_city")
    if get("legal_form") not in WITHOUT_CAPITAL:
        needed.append("share_capital")
    labels = dict(FIELDS)
    return [(field, labels[field]) for field in needed
            if get(field) is None or get(field) == "" or (field == "share_capital" and Decimal(get(field)) <= 0)]


def company_hint(missing: list[tuple[str, str]]) -> str:
    """``company legal form, register city (`crm company set --legal-form ... --rcs-city ...`)``.

    The registry's city is asked as ``--rcs-city`` (which also sets the RCS when no register is
    set), the most common case; ``--trade-register RM|RNE`` is there for the others.
    """
    fields = [field for field, _ in missing]
    labels = ", ".join(label.lower() for _, label in missing)
    options = []
    for field in fields:
        if field == "trade_register" and "register_city" in fields:
            continue  # --rcs-city sets both
        options.append("--rcs-city ..." if field == "register_city" else
                       "--trade-register RCS|RM|RNE" if field == "trade_register" else f"{flag(field)} ...")
    return f"company {labels} (`crm company set {' '.join(options)}`)"


#: the locale a partner's language is written in (``Partner.language``)
LANGUAGE_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def reader_locale(app, partner) -> str:
    """The locale of what ``partner`` reads (e-mails, PDFs, subjects): their language, else the company's.

    Staff read the company's locale; a customer or supplier reads theirs.
    """
    company_locale = app.config.company.locale
    language = getattr(partner, "language", None) if partner is not None else None
    if not language or company_locale.split("_")[0] == language:
        return company_locale
    return LANGUAGE_LOCALES.get(language, company_locale)
