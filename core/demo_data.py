"""The demo's cast and catalogue: the company, its people, customers' names and towns, products with
their suppliers and reorder rules, and the small helpers that make identities (SIREN, VAT number)
and format what the story prints. Plain data, no I/O: :mod:`core.demo` plays the story with it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

COMPANY = ("Lumière & Cie SAS", "Paris")
#: the demo company's identity, complete (an invoice is not posted without it) and plausible: the
#: check digits of the SIREN, SIRET, VAT number and IBAN hold (``crm company set`` checks them)
IDENTITY = {"--legal-form": "SAS", "--street": "24 rue de la Paix", "--postal-code": "75002", "--city": "Paris",
            "--siret": "73282932000009", "--rcs-city": "Paris", "--share-capital": "120000",
            "--iban": "FR7630006000011234567890189", "--bic": "AGRIFRPP", "--bank": "Crédit Agricole",
            "--email": "contact@lumiere-cie.fr", "--phone": "01 42 60 00 00"}
FIRST_NAMES = ("Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Claire", "Anne",
               "Lucas", "Hugo", "Louis", "Thomas", "Nicolas", "Julien", "Antoine", "Mathieu", "Pierre", "Yann")
LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
              "Moreau", "Simon", "Laurent", "Lefèbvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
              "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet")
COMPANY_WORDS = ("Atelier", "Groupe", "Maison", "Société", "Établissements", "Cabinet", "Hôtel", "Clinique",
                 "Imprimerie", "Garage", "Boulangerie", "Menuiserie", "Pharmacie", "Transports", "Lycée privé")
LEGAL_FORMS = ("SAS", "SARL", "SA", "EURL", "SCI")
CITIES = (("75011", "Paris"), ("69003", "Lyon"), ("13008", "Marseille"), ("31000", "Toulouse"),
          ("33000", "Bordeaux"), ("59000", "Lille"), ("44000", "Nantes"), ("67000", "Strasbourg"),
          ("35000", "Rennes"), ("34000", "Montpellier"), ("06000", "Nice"), ("21000", "Dijon"))
STREETS = ("rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo", "rue Pasteur",
           "place de la Mairie", "rue du Moulin", "chemin des Vignes", "rue Nationale")
SOURCES = ("site web", "salon Lumiville", "recommandation", "appel entrant", "campagne e-mail")
LOST_REASONS = ("prix trop élevé", "concurrent retenu", "projet reporté", "pas de budget")
DISQUALIFY_REASONS = ("particulier, hors cible", "pas de projet", "coordonnées invalides")
TERMS = ("30J", "30J", "30J", "45FDM", "60J", "30-60")
USERS = (  # login, name, role, team
    ("camille", "Camille Roux", "sales", "Grands comptes"), ("hugo", "Hugo Lambert", "sales", "Grands comptes"),
    ("ines", "Inès Mercier", "sales", "PME"), ("julien", "Julien Girard", "sales", "PME"),
    ("claire", "Claire Bonnet", "collections", None), ("yann", "Yann Morel", "purchasing", None),
)
SUPPLIERS = (  # name, lead time in days
    ("Lumitronic Europe SAS", 5), ("Optelec Industrie SARL", 9), ("Sécurilux SA", 14))
PRODUCTS = (  # sku, name, price, VAT, cost, supplier index, (min, max, multiple), opening stock, typical qty
    ("DAL-60", "Dalle LED 60x60 40 W", "49.00", "20", "27.50", 0, (80, 320, 20), 240, 48),
    ("TUB-120", "Tube LED 120 cm 18 W", "8.90", "20", "4.20", 0, (200, 800, 50), 600, 120),
    ("SPOT-GU10", "Spot LED GU10 6 W", "4.50", "20", "1.90", 1, (300, 1200, 100), 1000, 160),
    ("PROJ-50", "Projecteur LED 50 W IP65", "39.00", "20", "21.00", 1, (40, 160, 10), 120, 20),
    ("HUB-150", "Suspension industrielle LED 150 W", "129.00", "20", "72.00", 0, (30, 100, 5), 80, 16),
    ("REG-150", "Réglette étanche 150 cm", "34.00", "20", "17.50", 1, (60, 240, 10), 160, 32),
    ("DET-PIR", "Détecteur de présence", "24.00", "20", "11.00", 2, (40, 160, 10), 100, 20),
    ("BAES-45", "Bloc autonome d'éclairage de sécurité", "59.00", "20", "31.00", 2, (30, 120, 5), 80, 16),
    ("POSE", "Pose et mise en service (heure)", "65.00", "20", None, None, None, None, 12),
)
#: the default pipeline's open stages, in French: the demo company's language ([company] locale = fr_FR)
STAGES = ("Nouveau", "Qualifié", "Proposition", "Négociation")


#: the register's activity (APE/NAF) of a company named with each word, for the market extract
MARKET_NAF = {"Atelier": "43.21A", "Groupe": "70.10Z", "Maison": "47.59B", "Société": "43.21A",
              "Établissements": "46.69B", "Cabinet": "69.20Z", "Hôtel": "55.10Z", "Clinique": "86.10Z",
              "Imprimerie": "18.12Z", "Garage": "45.20A", "Boulangerie": "10.71C", "Menuiserie": "16.23Z",
              "Pharmacie": "47.73Z", "Transports": "49.41A", "Lycée": "85.31Z"}
MARKET_OTHERS = 300  # companies of the extract we have never heard of


#: who does the back-office steps (the salespeople act on their own deals)
COLLECTIONS, PURCHASING = "claire", "yann"


def quarter_target() -> str:
    """A sales team's quarterly target sized to the demo's own business, rounded to the thousand.

    About one lead a working day (``funnel_day`` draws 0, 0, 1, 1, 1, 1, 2, 2), 65 working days a
    quarter; in the story about 60 % of the leads become deals and about 45 % of the deals closed
    are won; two teams share them. A deal holds 1.25 products on average (one in four has two),
    each at its typical quantity × 1.25 (drawn from 0.5 to 2): so about 9 deals won a quarter per
    team at about 1,800 € each, 16,000 € (attainment then reads around 100 %, not 2 or 3 %).
    """
    line = sum(Decimal(p[2]) * p[8] for p in PRODUCTS) / len(PRODUCTS) * Decimal("1.25")
    deal = line * Decimal("1.25")
    won = Decimal(1) * 65 * Decimal("0.60") * Decimal("0.45") / 2
    return str((deal * won / 1000).quantize(Decimal(1)) * 1000)


def siren_from(digits: str) -> str:
    """Complete 8 digits with their Luhn key into a valid SIREN."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)  # the key will be rightmost: double every other
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def vat_number(siren: str) -> str:
    """The French intra-EU VAT number of a SIREN: FR + key + SIREN."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def slug(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "".join(c if c.isalnum() else "-" for c in plain).strip("-").replace("--", "-")


def next_quarter(day: dt.date) -> str:
    """``2026-Q4`` → ``2027-Q1``: the quarter after the one ``day`` is in, for the plan."""
    quarter = (day.month - 1) // 3 + 1
    return f"{day.year + 1}-Q1" if quarter == 4 else f"{day.year}-Q{quarter + 1}"


def lead_ref(value):
    """A lead reference as ``lead add --json`` gives it (an id, or an object with one)."""
    return value.get("id") if isinstance(value, dict) else value


def money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def count_by(rows: list[dict], key: str) -> dict:
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get(key))] = counts.get(str(row.get(key)), 0) + 1
    return dict(sorted(counts.items()))
