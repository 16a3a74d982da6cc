"""The ``[billing]`` section of ``crm.toml`` as the services read it, and the FEC's default accounts.

Its schema (checked when the config loads, with the defaults) is :mod:`plugins.billing.settings_schema`:
reading a setting does not import it (the config was checked, or remembered checked, before).

```toml
[billing]
post_on_confirm = true        # post the invoice of a confirmed order at once (false: leave a draft)
default_term = "30J"          # term of customers without one of their own
operation_category = "goods"  # goods, services or mixed (a mention on every invoice)
penalty_margin = "10"         # points over the ECB refinancing rate (L441-10)
recovery_indemnity = "40"     # euros per late invoice, business customers only (D441-5)
collections = "role:collections"  # who collections is (outbox recipient specs, comma-separated)
dso_days = 90                 # period of sales the DSO is computed on
case_assignment = "round_robin"  # who works a new collection case: round_robin, salesperson or user:LOGIN
overpayment = "oldest_open"   # what a payment leaves over: the customer's other open invoices, or "credit"
write_off_threshold = "1.00"  # an invoice left open by at most this is written off (0: never)
letters_folder = "letters"    # where the letter channel writes formal notices (relative to crm.toml)
iban = "FR76 3000 6000 0112 3456 7890 189"   # bank details printed on invoices (checked)
bic = "AGRIFRPP"
bank = "Crédit Agricole"
legal_footer = "SAS au capital de 10 000 €"
distance_selling_threshold = "10000"  # EU distance sales to consumers a year, then the customer country's VAT
# [billing.accounts]  the chart of accounts of the FEC export (PCG defaults: see ACCOUNTS)
# [[billing.reminder_levels]]  the reminder policy seeded when the module is enabled
```
"""

from __future__ import annotations

#: the FEC export's accounts (Plan comptable général), ``[billing.accounts]`` overrides any of them
ACCOUNTS = {
    "customers": "411000", "bank": "512000", "write_off": "658000",
    "sales_goods": "707000", "sales_services": "706000",
    "sales_goods_eu": "707100", "sales_services_eu": "706100",
    "sales_goods_export": "707200", "sales_services_export": "706200",
    "sales_goods_distance": "707300", "penalties": "763100",
    "vat_20": "445712", "vat_10": "445711", "vat_5_5": "445713", "vat_2_1": "445714", "vat_other": "445718",
}


def settings(app) -> dict:
    """The billing section, checked when the config loaded, with its defaults."""
    return app.settings("billing")


def collections_specs(app) -> list[str]:
    return [s.strip() for s in str(settings(app)["collections"]).split(",") if s.strip()]
