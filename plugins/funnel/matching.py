"""The match keys of duplicate detection: each normalises one way of recognising a lead.

A lead duplicates an existing lead or partner when one of its keys equals theirs (DESIGN.md,
"Funnel"): the normalised e-mail, the phone, the SIREN, the company's web or e-mail domain, or
company + name. E-mail, phone and company + name recognise the *person* (the import's ``skip``
and ``update`` policies act on those); SIREN and domain recognise the *company*, so a colleague
at a known company is flagged, never skipped or merged into someone else.

Every function is pure and cheap (the importer calls them on 100,000 rows): plain string
operations, no regular expression per character.
"""

from __future__ import annotations

import re
import unicodedata

#: strongest first: the order the keys are listed in ``duplicate_keys``
KEYS = ("email", "phone", "siren", "company_name", "domain")
PERSON_KEYS = ("email", "phone", "company_name")

#: mailboxes anyone can open: their domain says nothing about the company (Odoo keeps a similar list)
FREE_MAIL_DOMAINS = frozenset("""
    gmail.com googlemail.com yahoo.com yahoo.fr yahoo.co.uk ymail.com hotmail.com hotmail.fr hotmail.co.uk
    outlook.com outlook.fr live.com live.fr msn.com aol.com aol.fr icloud.com me.com mac.com
    orange.fr wanadoo.fr free.fr sfr.fr neuf.fr laposte.net bbox.fr numericable.fr club-internet.fr
    aliceadsl.fr cegetel.net noos.fr voila.fr gmx.fr gmx.com gmx.de gmx.net web.de protonmail.com proton.me
    pm.me tutanota.com yandex.com yandex.ru mail.com mail.ru libero.it
""".split())

_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_MIN_PHONE_DIGITS = 8   # shorter is an extension or a typo, not a number that identifies someone


def fold(text: str | None) -> str:
    """Case-, accent- and space-insensitive form of a name ("  Café  Dupont " -> "cafe dupont")."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text.casefold()).strip()


def email_key(email: str | None) -> str | None:
    """The normalised e-mail a duplicate is matched on (trimmed, lower-case)."""
    return email.strip().lower() if email and email.strip() else None


def company_key(company: str | None, name: str | None) -> str | None:
    """``company|name`` folded, or None without a company (a name alone matches too many people)."""
    folded = fold(company)
    if not folded:
        return None
    return f"{folded}|{fold(name)}"[:402]


def phone_key(phone: str | None) -> str | None:
    """The digits of a phone number, French numbers in national form.

    ``+33 1 23 45 67 89``, ``0033 (0)1 23 45 67 89``, ``33 1 23 45 67 89`` and ``01.23.45.67.89``
    all give ``0123456789``; another country keeps its ``00`` international prefix
    (``+32 2 555 12 12`` -> ``003225551212``). Fewer than 8 digits: no key.
    """
    if not phone:
        return None
    text = phone.strip()
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        digits = "00" + digits
    if digits.startswith("0033"):
        national = digits[4:]
        digits = "0" + (national[1:] if national.startswith("0") else national)   # "+33 (0)1 ..."
    elif digits.startswith("33") and len(digits) == 11:   # "33 1 23 45 67 89": +33 without its plus
        digits = "0" + digits[2:]
    if len(digits) < _MIN_PHONE_DIGITS:
        return None
    return digits[:20]


def _host(text: str) -> str | None:
    host = text.strip().lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if "." not in host or " " in host or len(host) > 200:
        return None
    return host


def website_domain(website: str | None) -> str | None:
    """``https://www.ACME.fr:443/contact?x`` -> ``acme.fr``."""
    if not website or not website.strip():
        return None
    text = website.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    for separator in "/?#":
        text = text.split(separator, 1)[0]
    text = text.rsplit("@", 1)[-1].split(":", 1)[0]
    return _host(text)


def email_domain(email: str | None) -> str | None:
    """The domain of an e-mail address (``Jean@Sales.ACME.fr`` -> ``sales.acme.fr``)."""
    if not email or "@" not in email:
        return None
    return _host(email.rsplit("@", 1)[1])


def domain_key(website: str | None, email: str | None) -> str | None:
    """The company's domain: its web site's, else its e-mail's; never a free-mail domain."""
    for domain in (website_domain(website), email_domain(email)):
        if domain and domain not in FREE_MAIL_DOMAINS:
            return domain
    return None


def siren_key(siren: str | None) -> str | None:
    """A SIREN as stored (validated and compacted by the schema): 9 digits, or None."""
    if not siren:
        return None
    digits = _NOT_DIGIT.sub("", siren)
    return digits if len(digits) == 9 else None


def lead_keys(*, name=None, company=None, email=None, phone=None, siren=None, website=None) -> dict:
    """Every match key of a lead's fields, by name (a missing key is None)."""
    return {"email": email_key(email), "phone": phone_key(phone), "siren": siren_key(siren),
            "company_name": company_key(company, name), "domain": domain_key(website, email)}


def matched_keys(keys: dict, matches: dict) -> str | None:
    """``"email,domain"``: the names of the keys with a match, strongest first (None without any)."""
    names = [key for key in KEYS if matches.get(key)]
    return ",".join(names) if names else None
