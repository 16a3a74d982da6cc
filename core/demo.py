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
import sys
from decimal import Decimal
from pathlib import Path

from core.demo_data import (
    CITIES, COLLECTIONS, COMPANY, COMPANY_WORDS, IDENTITY, LAST_NAMES, LEGAL_FORMS, MARKET_NAF, MARKET_OTHERS,
    PRODUCTS, PURCHASING, STAGES, STREETS, SUPPLIERS, TERMS, USERS, count_by, money, next_quarter, quarter_target,
    siren_from, slug, vat_number,
)
from core.demo_days import StoryDays
from core.errors import CrmError
from core.files import opener, private_folder, write_private
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


class Demo(StoryDays):
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
        crm(last, "plan", "--period", next_quarter(last), "--html", plan)
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
                "deals_won": won, "won_value": money(counts["won_value"]),
                "deals_lost": lost, "lost_value": money(counts["lost_value"]),
                "win_rate": f"{Decimal(100 * won) / (won + lost):.1f}" if won + lost else None,
                "deals_open": len(self.deals), "open_value": money(sum((d["value"] for d in self.deals.values()),
                                                                        Decimal(0))),
            }
            market = self.market(last)
            if market is not None:
                summary["market"] = {key: market[key] for key in ("establishments", "companies", "customers",
                                                                   "leads", "lost", "revenue") if key in market}
        orders = crm(last, "order", "list", as_json=True) or []
        summary["orders"] = {"count": len(orders), **count_by(orders, "state"),
                             "value_excl_vat": money(sum(Decimal(o["total_untaxed"]) for o in orders
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
                "purchase_orders": len(pos), **count_by(pos, "state"),
                "value_excl_vat": money(sum(Decimal(p["total_untaxed"]) for p in pos if p["state"] != "cancelled")),
                "products_below_minimum": sorted(s["sku"] for s in stock if s.get("below_minimum"))}
        outbox = self.folder / "outbox"
        messages = crm(last, "notifications", "list", "--limit", "1000000", as_json=True) or []
        summary["notifications"] = {"messages": len(messages), **count_by(messages, "state"),
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
            "invoices": len(invoices), "invoiced": money(sum(Decimal(i["total"]) for i in invoices)),
            **{f"invoices_{state}": n for state, n in count_by(invoices, "state").items()},
            "payments": self.counts["payments"], "collected": money(self.counts["paid_amount"]),
            "overdue": len(overdue), "overdue_amount": money(sum(Decimal(i["residual"]) for i in overdue)),
            "open_receivables": (aging or {}).get("totals", {}).get("total"),
            "dso_days": (aging or {}).get("dso"),
            "reminders_sent": self.reminders_sent,
            "reminders_by_level": dict(sorted(levels.items())),
        }
