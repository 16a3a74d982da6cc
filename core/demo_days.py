"""The demo's days, one part of the business each: the funnel (leads, deals, activities), the
sales, billing (invoices, the bank statement, payments) and purchasing. Each step is a ``crm``
command run as the person who would type it (:class:`core.demo.Runner`), on the day replayed.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from core.demo_data import (
    COLLECTIONS, DISQUALIFY_REASONS, FIRST_NAMES, LAST_NAMES, LOST_REASONS, PRODUCTS, PURCHASING, SOURCES, STAGES,
    SUPPLIERS, TERMS, USERS, lead_ref, slug,
)


class StoryDays:
    """The day-by-day steps of :class:`core.demo.Demo` (its state: ``crm``, ``rng``, the open deals,
    invoices, payments and deliveries it keeps track of)."""

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
                "since": day, "duplicate_of": lead_ref(created.get("duplicate_of"))}
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
