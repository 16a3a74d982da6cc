"""``crm demo``: a believable French company, then its days replayed one by one.

The demo drives Entonnoir as a user would: every step is a ``crm`` command, run in this process
(``core.cli.main.main``) with ``--today`` set to the day being replayed. So it only uses what the
modules offer on the command line, and the kernel never imports a plugin (import-linter holds that
line). A module that is not enabled simply has its part of the story skipped.

Deterministic: every choice comes from ``random.Random(seed)`` and the business dates; nothing read
from the wall clock goes into the data the demo decides (the outbox's own timestamps do).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import random
import re
import sys
from decimal import Decimal
from pathlib import Path

from core.errors import CrmError
from core.files import opener, private_folder, write_private

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


class Runner:
    """Runs ``crm`` commands in this process against one workspace, as a user would type them."""

    def __init__(self, config: Path):
        self.config = config
        self.commands = 0
        self.problems: list[str] = []

    def __call__(self, today: dt.date, *args, as_json: bool = False, expected: tuple = (), by: str | None = None):
        """Run ``crm --today TODAY ARGS`` (as user ``by``: ``--as``); return its output, None on failure.

        A failure whose message contains one of ``expected`` is part of the story (a sale refused
        for want of stock); any other is recorded in ``problems`` and the story goes on.
        """
        from core.cli.main import main

        argv = ["--config", str(self.config), "--today", today.isoformat(), *(("--as", by) if by else ()),
                *map(str, args)]
        if as_json:
            argv.append("--json")
        out, err, code = io.StringIO(), io.StringIO(), 0
        self.commands += 1
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code != 0:
            message = (err.getvalue().strip().splitlines() or [f"exit {code}"])[-1]
            if not any(text in message for text in expected):
                self.problems.append(f"{today} crm {' '.join(map(str, args))}: {message}")
            return None
        return json.loads(out.getvalue()) if as_json else out.getvalue()


class Demo:
    """One demo run: the set-up, then ``days`` days replayed from ``start``."""

    def __init__(self, folder: Path, *, days: int, seed: int, start: dt.date, modules: list[str], quiet: bool):
        self.folder = Path(folder)
        self.days, self.seed, self.start, self.modules, self.quiet = days, seed, start, modules, quiet
        self.rng = random.Random(seed)
        self.crm = Runner(self.folder / "crm.toml")
        self.sirens: set[str] = set()
        self.customers: dict[int, dict] = {}     # partner id -> its company
        self.leads: dict[int, dict] = {}         # lead id -> what the demo knows of it
        self.deals: dict[int, dict] = {}         # open deals
        self.activities: dict[int, dt.date] = {}  # open activity id -> due date
        self.invoices: dict[str, dict] = {}      # number -> payment plan
        self.payments: dict[dt.date, list] = {}  # date -> bank lines
        self.deliveries: dict[str, dt.date] = {}  # order reference -> day the warehouse ships it
        self.check_purchases = False              # something may have drafted a purchase order
        self.arrivals: dict[str, dt.date] = {}    # purchase order number -> day the goods arrive
        self.invoiced_orders = 0
        self.counts = {key: 0 for key in (
            "leads", "duplicates_flagged", "merged", "qualified", "disqualified", "converted", "deals_won",
            "deals_lost", "won_value", "lost_value", "orders", "refused_for_stock", "delivered", "payments",
            "paid_amount", "po_confirmed", "po_received", "activities_done", "activities_planned")}
        self.counts["won_value"] = self.counts["lost_value"] = self.counts["paid_amount"] = Decimal(0)
        self.reminders_sent = 0

    def has(self, module: str) -> bool:
        return module in self.modules

    # ------------------------------------------------------------------ set-up
    def run(self) -> dict:
        if self.folder.exists() and any(self.folder.iterdir()):
            raise CrmError(f"{self.folder}: the folder is not empty (the demo creates its own workspace)")
        private_folder(self.folder)
        self.setup()
        days = [self.start + dt.timedelta(days=n) for n in range(self.days)]
        with self.progress() as advance:
            for day in days:
                self.replay(day)
                advance(day)
        summary = self.summary(days[-1])
        self.remember_day(days[-1])
        return summary

    def remember_day(self, last: dt.date) -> None:
        """The workspace stays on the story's last day (``[workspace] today``), so a tour of it
        shows the summary's figures whatever the calendar says; ``--today`` still moves it."""
        from core.config import set_value

        path = self.folder / "crm.toml"
        write_private(path, set_value(path, ["workspace", "today"], last.isoformat()).encode("utf-8"))

    @contextlib.contextmanager
    def progress(self):
        """A progress bar on a terminal; nothing when piped (or with --json)."""
        if self.quiet or not sys.stderr.isatty():
            yield lambda day: None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), redirect_stdout=False, redirect_stderr=False) as bar:
            task = bar.add_task("replaying days", total=self.days)
            yield lambda day: bar.update(task, advance=1, description=f"replaying {day.isoformat()}")

    def new_siren(self) -> str:
        while True:
            siren = siren_from(f"{self.rng.randrange(10_000_000, 99_999_999)}")
            if siren not in self.sirens:
                self.sirens.add(siren)
                return siren

    def company(self) -> dict:
        rng = self.rng
        name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST_NAMES)} {rng.choice(LEGAL_FORMS)}"
        postal_code, city = rng.choice(CITIES)
        siren = self.new_siren()
        return {"name": name, "siren": siren, "domain": f"{slug(name)}-{siren[-3:]}.fr", "city": city,
                "postal_code": postal_code, "street": f"{rng.randrange(1, 120)} {rng.choice(STREETS)}"}

    def setup(self) -> None:
        crm, day, rng = self.crm, self.start, self.rng
        from core.cli.main import main

        own = siren_from("73282932")
        self.sirens.add(own)
        with contextlib.redirect_stdout(io.StringIO()):
            main(["--today", day.isoformat(), "init", str(self.folder), "--name", COMPANY[0], "--siren", own,
                  "--vat-number", vat_number(own), *[a for pair in IDENTITY.items() for a in pair],
                  "--modules", ",".join(self.modules)])
        for login, name, role, _ in USERS:
            crm(day, "user", "add", login, name, "--email", f"{login}@lumiere-cie.fr", "--role", role)
        for team in ("Grands comptes", "PME"):
            members = [u[0] for u in USERS if u[3] == team]
            crm(day, "team", "add", team, "--leader", members[0], *[a for m in members[1:] for a in ("--member", m)])
            crm(day, "user", "role", members[0], "sales_manager")  # the leader manages the team's pipeline
        crm(day, "user", "role", COLLECTIONS, "accountant")  # one person keeps the books and the collections
        self.write_csv("imports/produits.csv", ["sku", "name", "list_price", "vat_rate", "unit", "stockable", "kind"],
                       [[p[0], p[1], p[2], p[3], "hour" if p[6] is None else "unit", "non" if p[6] is None else "oui",
                         "service" if p[6] is None else "goods"] for p in PRODUCTS])
        crm(day, "import", "products", self.folder / "imports/produits.csv")
        partners = []
        for n, (name, _) in enumerate(SUPPLIERS):
            siren = self.new_siren()
            postal_code, city = CITIES[(n * 3 + 1) % len(CITIES)]  # a purchase order prints the supplier's address
            partners.append([name, "non", "oui", f"commandes@{slug(name)}.fr", f"{12 + n * 7} {STREETS[n % len(STREETS)]}",
                             postal_code, city, siren, vat_number(siren), ""])
        companies = [self.company() for _ in range(12)]
        for company in companies:  # each customer has its salesperson, who alone works it (record rules)
            company["salesperson"] = rng.choice([u[0] for u in USERS if u[2] == "sales"])
            partners.append([company["name"], "oui", "non", f"compta@{company['domain']}", company["street"],
                             company["postal_code"], company["city"], company["siren"], vat_number(company["siren"]),
                             company["salesperson"]])
        self.write_csv("imports/partenaires.csv", ["name", "is_customer", "is_supplier", "email", "street",
                                                   "postal_code", "city", "siren", "vat_number", "salesperson"],
                       partners)
        crm(day, "import", "partners", self.folder / "imports/partenaires.csv")
        by_siren = {company["siren"]: company for company in companies}
        for partner in crm(day, "partner", "list", "--customers", as_json=True) or []:
            if partner.get("siren") in by_siren:
                self.customers[partner["id"]] = by_siren[partner["siren"]]
                if self.has("billing") and rng.random() < 0.3:  # else the default term, 30 days
                    crm(day, "term", "assign", partner["id"], rng.choice(TERMS), by=COLLECTIONS)
        if self.has("procurement"):
            stocked = [p for p in PRODUCTS if p[6] is not None]
            self.write_csv("imports/prix-fournisseurs.csv", ["sku", "supplier", "price", "minimum_quantity",
                                                             "lead_time_days", "preferred"],
                           [[p[0], SUPPLIERS[p[5]][0], p[4], p[6][2], SUPPLIERS[p[5]][1], "oui"] for p in stocked])
            crm(day, "import", "supplier_prices", self.folder / "imports/prix-fournisseurs.csv", by=PURCHASING)
            self.write_csv("imports/regles-reappro.csv", ["sku", "minimum", "maximum", "multiple"],
                           [[p[0], *p[6]] for p in stocked])
            crm(day, "import", "reorder_rules", self.folder / "imports/regles-reappro.csv", by=PURCHASING)
            for product in stocked:
                crm(day, "stock", "adjust", product[0], product[7], "--reason", "inventaire d'ouverture", by=PURCHASING)
        if self.has("funnel"):
            last = self.start + dt.timedelta(days=self.days - 1)
            revenue = quarter_target()
            for quarter in sorted({f"{d.year}-Q{(d.month - 1) // 3 + 1}" for d in (self.start, last)}):
                for team in ("Grands comptes", "PME"):
                    crm(day, "target", "set", "--team", team, "--period", quarter, "--revenue", revenue)
            for _ in range(6):  # the pipeline already holds some deals when the story starts
                lead = self.add_lead(day)
                if lead:
                    self.convert(day, lead, stage=rng.choice(STAGES[1:]))

    def market(self, last: dt.date) -> dict | None:
        """The register extract: our customers' and leads' companies and others around them, in the
        Sirene StockEtablissement layout, imported and read back as coverage per département."""
        rng = random.Random(self.seed + 21)  # its own draws: the story does not change
        known = {c["siren"]: c for c in [*self.customers.values(), *(lead["company"] for lead in self.leads.values())]}
        others = []
        while len(others) < MARKET_OTHERS:
            siren = siren_from(f"{rng.randrange(10_000_000, 99_999_999)}")
            if siren not in self.sirens and siren not in known:
                postal_code, city = rng.choice(CITIES)
                others.append({"siren": siren, "name": f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST_NAMES)}",
                               "postal_code": postal_code, "city": city})
        rows = []
        for company in sorted([*known.values(), *others], key=lambda c: c["siren"]):
            word = company["name"].split(" ")[0]
            naf = MARKET_NAF.get(word, "43.21A")
            for branch in range(1 if rng.random() < 0.85 else 2):
                siret = siren_from(f"{company['siren']}{branch + 1:04d}")
                postal_code, city = (company["postal_code"], company["city"]) if branch == 0 else rng.choice(CITIES)
                rows.append([company["siren"], siret[9:], siret, f"{rng.randrange(1975, 2025)}-"
                             f"{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                             rng.choice(("NN", "01", "02", "03", "11", "11", "12", "12", "21", "22", "31")), naf,
                             "true" if branch == 0 else "false", company["name"], postal_code, city.upper(),
                             "A" if rng.random() < 0.9 else "F"])
        self.write_csv("imports/sirene-etablissements.csv", [
            "siren", "nic", "siret", "dateCreationEtablissement", "trancheEffectifsEtablissement",
            "activitePrincipaleEtablissement", "etablissementSiege", "denominationUsuelleEtablissement",
            "codePostalEtablissement", "libelleCommuneEtablissement", "etatAdministratifEtablissement"], rows)
        if self.crm(last, "market", "import", self.folder / "imports/sirene-etablissements.csv") is None:
            return None
        coverage = self.crm(last, "market", "coverage", "--by", "department", "--json", as_json=True) or {}
        return {"establishments": len(rows), **(coverage.get("total") or {})}

    def write_csv(self, name: str, header: list[str], rows: list[list]) -> None:
        path = self.folder / name
        private_folder(path.parent)
        with open(path, "w", newline="", encoding="utf-8", opener=opener) as file:
            writer = csv.writer(file)
            writer.writerow(header)
            writer.writerows(rows)

    # ------------------------------------------------------------------ the funnel
    def add_lead(self, day: dt.date) -> dict | None:
        """A lead arrives: a new prospect, the same person again, or a colleague at a customer."""
        rng = self.rng
        owner = rng.choice([u for u in USERS if u[2] == "sales"])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        draw, known = rng.random(), [lead for lead in self.leads.values() if lead["kind"] == "new"]
        if draw < 0.12 and known:      # the web form filled in twice: to the salesperson who has it
            lead = dict(rng.choice(known), kind="again")
            first, last = lead["person"]
            owner = next(u for u in USERS if u[0] == lead["owner"])
        elif draw < 0.20 and self.customers:   # a colleague at a customer: to the customer's salesperson
            company = self.customers[rng.choice(list(self.customers))]
            lead = {"company": company, "kind": "colleague"}
            owner = next(u for u in USERS if u[0] == company["salesperson"])
        else:
            lead = {"company": self.company(), "kind": "new"}
        company = lead["company"]
        email = f"{slug(first)}.{slug(last)}@{company['domain']}"
        args = ["lead", "add", f"{first} {last}", "--company", company["name"], "--email", email,
                "--siren", company["siren"], "--phone", f"0{rng.randrange(1, 6)}{rng.randrange(10**7, 10**8)}",
                "--source", rng.choice(SOURCES), "--owner", owner[0], "--team", owner[3], "--user", owner[0]]
        created = self.crm(day, *args, as_json=True)
        if created is None:
            return None
        self.counts["leads"] += 1
        if created.get("duplicate_of") or created.get("duplicate_partner"):
            self.counts["duplicates_flagged"] += 1
        lead = {**lead, "id": created["id"], "person": (first, last), "owner": owner[0], "state": "new",
                "since": day, "duplicate_of": _ref(created.get("duplicate_of"))}
        self.leads[lead["id"]] = lead
        return lead

    def convert(self, day: dt.date, lead: dict, stage: str | None = None) -> None:
        rng, owner = self.rng, lead["owner"]
        close = day + dt.timedelta(days=rng.randrange(20, 75))
        deal = self.crm(day, "lead", "convert", lead["id"], "--expected-close", close.isoformat(),
                        as_json=True, by=owner)
        if deal is None:
            return
        lead["state"] = "converted"
        self.counts["converted"] += 1
        customer = (deal.get("customer") or {}).get("id")
        if customer is not None and customer not in self.customers:
            self.customers[customer] = lead["company"]
            lead["company"]["salesperson"] = owner  # converting the lead made the customer theirs
            company = lead["company"]  # the lead had no address: an invoice needs the customer's
            self.crm(day, "partner", "edit", customer, "--street", company["street"],
                     "--postal-code", company["postal_code"], "--city", company["city"])
            if self.has("billing") and rng.random() < 0.3:  # else the default term
                self.crm(day, "term", "assign", customer, rng.choice(TERMS))
        value = Decimal(0)
        for product in rng.sample(PRODUCTS, rng.choice((1, 1, 1, 2))):
            quantity = max(1, round(product[8] * rng.uniform(0.5, 2.0)))
            if self.crm(day, "deal", "line", deal["id"], product[0], quantity) is not None:
                value += Decimal(product[2]) * quantity
        self.deals[deal["id"]] = {"owner": owner, "stage": 0, "value": value, "customer": customer}
        if rng.random() < 0.5:
            self.plan_activity(day, "call", "Appel de découverte", deal["id"], owner)
        if stage is not None:
            self.move(day, deal["id"], STAGES.index(stage))

    def move(self, day: dt.date, deal_id: int, stage: int) -> None:
        deal = self.deals[deal_id]
        if self.crm(day, "deal", "move", deal_id, STAGES[stage], by=deal["owner"]) is not None:
            deal["stage"] = stage

    def plan_activity(self, day, kind, subject, deal_id, owner) -> None:
        due = day + dt.timedelta(days=self.rng.randrange(1, 6))
        created = self.crm(day, "activity", "add", kind, subject, "--due", due.isoformat(), "--deal", deal_id,
                           "--owner", owner, "--user", owner, as_json=True)
        if created is not None:
            self.counts["activities_planned"] += 1
            self.activities[created["id"]] = due

    def funnel_day(self, day: dt.date) -> None:
        rng = self.rng
        for _ in range(rng.choice((0, 0, 1, 1, 1, 1, 2, 2))):
            self.add_lead(day)
        for lead in [lead for lead in self.leads.values() if lead["state"] in ("new", "qualified")]:
            if lead["since"] >= day:
                continue
            owner, draw = lead["owner"], rng.random()
            if lead["duplicate_of"] in self.leads and lead["state"] == "new":
                if self.crm(day, "lead", "merge", lead["duplicate_of"], lead["id"], "--user", owner) is not None:
                    lead["state"] = "merged"
                    self.counts["merged"] += 1
            elif lead["state"] == "new" and draw < 0.08:
                if self.crm(day, "lead", "disqualify", lead["id"], "--reason", rng.choice(DISQUALIFY_REASONS),
                            "--user", owner) is not None:
                    lead["state"] = "disqualified"
                    self.counts["disqualified"] += 1
            elif lead["state"] == "new" and draw < 0.5:
                if self.crm(day, "lead", "qualify", lead["id"], "--user", owner) is not None:
                    lead["state"] = "qualified"
                    self.counts["qualified"] += 1
            elif lead["state"] == "qualified" and draw < 0.35:
                self.convert(day, lead)
            elif lead["state"] == "qualified" and draw > 0.96:
                if self.crm(day, "lead", "disqualify", lead["id"], "--reason", rng.choice(DISQUALIFY_REASONS),
                            "--user", owner) is not None:
                    lead["state"] = "disqualified"
                    self.counts["disqualified"] += 1
        for deal_id in sorted(self.deals):
            deal, draw = self.deals[deal_id], rng.random()
            if deal["stage"] == len(STAGES) - 1 and draw < 0.22 or deal["stage"] == 2 and draw < 0.04:
                self.close(day, deal_id, won=True)
            elif draw > (0.92 if deal["stage"] == len(STAGES) - 1 else 0.97):
                self.close(day, deal_id, won=False)
            elif deal["stage"] < len(STAGES) - 1 and draw < 0.2:
                self.move(day, deal_id, min(deal["stage"] + rng.choice((1, 1, 1, 2)), len(STAGES) - 1))
        for activity_id in sorted(self.activities):
            if self.activities[activity_id] <= day and rng.random() < 0.6:
                outcome = rng.choice(("client intéressé", "à relancer", "devis demandé", "pas joignable"))
                if self.crm(day, "activity", "done", activity_id, "--outcome", outcome) is not None:
                    del self.activities[activity_id]
                    self.counts["activities_done"] += 1

    def close(self, day: dt.date, deal_id: int, *, won: bool) -> None:
        deal = self.deals[deal_id]
        if won:
            done = self.crm(day, "deal", "won", deal_id, by=deal["owner"], expected=("available",))
            if done is None:  # refused for want of stock: the deal waits for the purchase orders
                self.counts["refused_for_stock"] += 1
                return
            order = re.search(r"order (\S+)", done)
            self.ordered(day, order.group(1) if order else None)
        elif self.crm(day, "deal", "lost", deal_id, "--reason", self.rng.choice(LOST_REASONS),
                      by=deal["owner"]) is None:
            return
        key = "won" if won else "lost"
        self.counts[f"deals_{key}"] += 1
        self.counts[f"{key}_value"] += deal["value"]
        del self.deals[deal_id]

    # ------------------------------------------------------------------ orders, cash, purchases
    def sales_day(self, day: dt.date) -> None:
        """Repeat orders from customers, typed as orders (the kernel's, with or without the funnel)."""
        rng = self.rng
        if self.customers and rng.random() < (0.35 if self.has("funnel") else 0.8):
            lines = [f"{p[0]}:{max(1, round(p[8] * rng.uniform(0.2, 1.0)))}"
                     for p in rng.sample(PRODUCTS, rng.choice((1, 2)))]
            customer = rng.choice(list(self.customers))  # taken by the customer's salesperson
            created = self.crm(day, "order", "create", "--customer", customer,
                               *[a for line in lines for a in ("--line", line)], "--origin", "commande client",
                               "--confirm", as_json=True, expected=("available",),
                               by=self.customers[customer]["salesperson"])
            if created is None:
                self.counts["refused_for_stock"] += 1
            else:
                self.ordered(day, created["number"])
        for ref, delivery in list(self.deliveries.items()):
            if delivery <= day:
                del self.deliveries[ref]
                if self.crm(day, "order", "deliver", ref) is not None:
                    self.counts["delivered"] += 1

    def ordered(self, day: dt.date, ref: str | None) -> None:
        """An order was confirmed: the warehouse ships it in a few days; purchasing has a look."""
        self.counts["orders"] += 1
        self.check_purchases = True
        if ref:
            self.deliveries[ref] = day + dt.timedelta(days=self.rng.randrange(1, 5))

    def billing_day(self, day: dt.date) -> None:
        """New invoices get a payer's habit; today's bank statement is imported."""
        # Accounts look at the new invoices on Mondays, Wednesdays and Fridays, and plan the cash.
        if self.counts["orders"] != self.invoiced_orders and day.weekday() in (0, 2, 4):
            self.invoiced_orders = self.counts["orders"]
            self.new_invoices(day)
        self.import_statement(day)

    def new_invoices(self, day: dt.date) -> None:
        rng = self.rng
        for invoice in reversed(self.crm(day, "invoice", "list", "--limit", "200", as_json=True) or []):
            number = invoice.get("number")
            if not number or number in self.invoices or invoice.get("kind", "invoice") != "invoice":
                continue
            self.invoices[number] = invoice
            due, total, draw = dt.date.fromisoformat(invoice["due_date"]), Decimal(invoice["total"]), rng.random()
            if draw < 0.55:    # on time, often a little early
                self.pay(max(day + dt.timedelta(days=1), due - dt.timedelta(days=rng.randrange(0, 10))), invoice, total)
            elif draw < 0.80:  # late
                self.pay(due + dt.timedelta(days=rng.randrange(4, 50)), invoice, total)
            elif draw < 0.90:  # a part now, maybe the rest later
                part = (total * Decimal(rng.choice((30, 40, 50))) / 100).quantize(Decimal("0.01"))
                self.pay(due + dt.timedelta(days=rng.randrange(0, 12)), invoice, part)
                if rng.random() < 0.5:
                    self.pay(due + dt.timedelta(days=rng.randrange(20, 60)), invoice, total - part)
            # else: never pays

    def import_statement(self, day: dt.date) -> None:
        lines = self.payments.pop(day, [])
        if lines:
            self.write_csv(f"bank/releve-{day.isoformat()}.csv",
                           ["date", "amount", "customer", "method", "reference", "invoice"], lines)
            statement = self.folder / "bank" / f"releve-{day.isoformat()}.csv"
            if self.crm(day, "payment", "import", statement, as_json=True, by=COLLECTIONS) is not None:
                self.counts["payments"] += len(lines)
                self.counts["paid_amount"] += sum(Decimal(line[1]) for line in lines)

    def pay(self, when: dt.date, invoice: dict, amount: Decimal) -> None:
        while when.weekday() >= 5:  # banks credit on working days
            when += dt.timedelta(days=1)
        self.payments.setdefault(when, []).append(
            [when.isoformat(), f"{amount:.2f}", "", "transfer",   # the invoice names the customer
             f"VIR {invoice['customer'][:30].upper()} {invoice['number']}", invoice["number"]])

    def purchasing_day(self, day: dt.date) -> None:
        """Purchasing confirms the drafted orders and receives what arrives."""
        lead_times = dict(SUPPLIERS)
        for number, arrival in list(self.arrivals.items()):
            if arrival <= day:
                del self.arrivals[number]
                if self.crm(day, "po", "receive", number, by=PURCHASING) is not None:
                    self.counts["po_received"] += 1
        if not self.check_purchases or day.weekday() not in (1, 3):  # drafts are reviewed on Tuesdays and Thursdays
            return
        self.check_purchases = False
        for po in reversed(self.crm(day, "po", "list", "--state", "draft", as_json=True) or []):
            if self.crm(day, "po", "confirm", po["number"], by=PURCHASING) is not None:
                self.counts["po_confirmed"] += 1
                arrival = day + dt.timedelta(days=lead_times.get(po["supplier"]["name"], 7))
                while arrival.weekday() >= 5:
                    arrival += dt.timedelta(days=1)
                self.arrivals[po["number"]] = arrival

    def replay(self, day: dt.date) -> None:
        """One day: the office's work on weekdays, the daily jobs every day."""
        if day.weekday() < 5:
            if self.has("funnel"):
                self.funnel_day(day)
            self.sales_day(day)
            if self.has("billing"):
                self.billing_day(day)
            if self.has("procurement"):
                self.purchasing_day(day)
        for run in self.crm(day, "jobs", "run", "--allow-future", as_json=True) or []:  # a replay may run ahead
            counts = run.get("counts") or {}
            if run.get("job") == "billing.reminders":
                self.reminders_sent += int(counts.get("reminders", 0))
            if run.get("job") == "procurement.reorder" and (counts.get("lines_raised") or counts.get("drafts_created")):
                self.check_purchases = True
        self.crm(day, "notifications", "deliver")

    # ------------------------------------------------------------------ the end
    def summary(self, last: dt.date) -> dict:
        """Figures read back through the commands, and the reports written into the workspace."""
        crm, counts, reports = self.crm, self.counts, self.folder / "reports"
        private_folder(reports)
        summary: dict = {"workspace": str(self.folder.resolve()), "seed": self.seed, "days": self.days,
                         "from": self.start.isoformat(), "to": last.isoformat(), "modules": self.modules,
                         "reports": {}}
        period = reports / "period.html"
        crm(last, "report", "period", "--from", self.start.isoformat(), "--to", last.isoformat(), "--html", period)
        if period.exists():
            summary["reports"]["period_html"] = str(period.resolve())
        plan = reports / "plan.html"
        crm(last, "plan", "--period", _next_quarter(last), "--html", plan)
        if plan.exists():
            summary["reports"]["plan_html"] = str(plan.resolve())
        if self.has("funnel"):
            html = reports / "funnel.html"
            crm(last, "funnel", "report", "--from", self.start.isoformat(), "--to", last.isoformat(), "--html", html)
            if html.exists():
                summary["reports"]["funnel_html"] = str(html.resolve())
            won, lost = counts["deals_won"], counts["deals_lost"]
            summary["funnel"] = {
                **{key: counts[key] for key in ("leads", "duplicates_flagged", "merged", "qualified", "disqualified",
                                                "converted", "activities_planned", "activities_done")},
                "deals_won": won, "won_value": _money(counts["won_value"]),
                "deals_lost": lost, "lost_value": _money(counts["lost_value"]),
                "win_rate": f"{Decimal(100 * won) / (won + lost):.1f}" if won + lost else None,
                "deals_open": len(self.deals), "open_value": _money(sum((d["value"] for d in self.deals.values()),
                                                                        Decimal(0))),
            }
            market = self.market(last)
            if market is not None:
                summary["market"] = {key: market[key] for key in ("establishments", "companies", "customers",
                                                                   "leads", "lost", "revenue") if key in market}
        orders = crm(last, "order", "list", as_json=True) or []
        summary["orders"] = {"count": len(orders), **_by(orders, "state"),
                             "value_excl_vat": _money(sum(Decimal(o["total_untaxed"]) for o in orders
                                                          if o["state"] != "cancelled")),
                             "refused_for_stock": counts["refused_for_stock"]}
        if self.has("billing"):
            summary["billing"] = self.billing_summary(last, reports)
            if (reports / "aging.json").exists():
                summary["reports"]["aging_json"] = str((reports / "aging.json").resolve())
        if self.has("procurement"):
            pos = crm(last, "po", "list", as_json=True) or []
            stock = crm(last, "stock", "list", as_json=True) or []
            summary["procurement"] = {
                "purchase_orders": len(pos), **_by(pos, "state"),
                "value_excl_vat": _money(sum(Decimal(p["total_untaxed"]) for p in pos if p["state"] != "cancelled")),
                "products_below_minimum": sorted(s["sku"] for s in stock if s.get("below_minimum"))}
        outbox = self.folder / "outbox"
        messages = crm(last, "notifications", "list", "--limit", "1000000", as_json=True) or []
        summary["notifications"] = {"messages": len(messages), **_by(messages, "state"),
                                    "eml_files": len(list(outbox.rglob("*.eml"))) if outbox.exists() else 0,
                                    "outbox": str(outbox.resolve())}
        summary["commands"] = crm.commands
        summary["problems"] = crm.problems
        return summary

    def billing_summary(self, last: dt.date, reports: Path) -> dict:
        crm = self.crm
        invoices = [i for i in crm(last, "invoice", "list", "--limit", "1000000", as_json=True) or []
                    if i.get("kind", "invoice") == "invoice"]
        overdue = [i for i in crm(last, "invoice", "list", "--overdue", "--limit", "1000000", as_json=True) or []
                   if i.get("kind", "invoice") == "invoice"]
        aging = crm(last, "aging", as_json=True)
        if aging is not None:
            text = json.dumps(aging, indent=2, ensure_ascii=False) + "\n"
            write_private(reports / "aging.json", text.encode("utf-8"))
        levels: dict[str, int] = {}
        for case in crm(last, "reminders", "list", "--all", as_json=True) or []:
            for sent in case.get("history") or case.get("levels") or []:
                if sent.get("state", "sent") == "sent":
                    key = str(sent.get("level"))
                    levels[key] = levels.get(key, 0) + 1
        return {
            "invoices": len(invoices), "invoiced": _money(sum(Decimal(i["total"]) for i in invoices)),
            **{f"invoices_{state}": n for state, n in _by(invoices, "state").items()},
            "payments": self.counts["payments"], "collected": _money(self.counts["paid_amount"]),
            "overdue": len(overdue), "overdue_amount": _money(sum(Decimal(i["residual"]) for i in overdue)),
            "open_receivables": (aging or {}).get("totals", {}).get("total"),
            "dso_days": (aging or {}).get("dso"),
            "reminders_sent": self.reminders_sent,
            "reminders_by_level": dict(sorted(levels.items())),
        }


def _next_quarter(day: dt.date) -> str:
    """``2026-Q4`` → ``2027-Q1``: the quarter after the one ``day`` is in, for the plan."""
    quarter = (day.month - 1) // 3 + 1
    return f"{day.year + 1}-Q1" if quarter == 4 else f"{day.year}-Q{quarter + 1}"


def _ref(value):
    """A lead reference as ``lead add --json`` gives it (an id, or an object with one)."""
    return value.get("id") if isinstance(value, dict) else value


def _money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def _by(rows: list[dict], key: str) -> dict:
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get(key))] = counts.get(str(row.get(key)), 0) + 1
    return dict(sorted(counts.items()))
