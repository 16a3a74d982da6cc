"""The kernel's own rights and record rules, declared through the same hooks as any module's."""

from __future__ import annotations

from core.security import EVERYONE, Permission

SALES = ("sales", "sales_manager")
READERS = ("sales", "sales_manager", "collections", "purchasing", "accountant")

KERNEL_PERMISSIONS = (
    Permission("core.open", "Commands that need no crm identity: create a workspace or a plugin skeleton, "
               "run the demo, list hooks, migrate the schema (the database's own permissions guard it), whoami, "
               "the shell (each command typed in it asks its own right)",
               roles=EVERYONE, commands=("init", "demo", "plugin new", "hooks", "migrate", "whoami", "shell")),
    Permission("core.read", "See partners, products, users, teams, orders, documents, jobs, modules and reports",
               roles=READERS, commands=(
                   "company show", "partner list", "partner show", "partner account", "partner statement",
                   "product list", "product show", "user list", "team list", "order list", "order show",
                   "documents list", "documents print", "notifications list", "notifications show",
                   "jobs list", "jobs history", "modules list", "modules info", "config check", "role matrix",
                   "report period", "plan", "export KIND", "role list", "role show")),
    Permission("core.partner.write", "Add and edit partners and their contacts",
               roles=("sales", "sales_manager", "collections", "purchasing", "accountant"),
               commands=("partner add", "partner edit", "partner contact")),
    Permission("core.product.write", "Add products", roles=("sales_manager", "purchasing"),
               commands=("product add",)),
    Permission("core.order.write", "Create, confirm, deliver and cancel sales orders", roles=SALES,
               commands=("order create", "order confirm", "order deliver", "order cancel")),
    Permission("core.import", "Import records from files", roles=("sales_manager", "purchasing", "accountant"),
               commands=("import",)),
    Permission("core.users", "Add users and teams, give roles, map logins, define custom roles",
               commands=("user add", "team add", "user role", "user identity", "role create", "role grant",
                         "role revoke")),
    Permission("core.impersonate", "Act as another user (crm --as LOGIN); the trail says who really acted"),
    Permission("core.company", "Change the company's legal identity", roles=("accountant",),
               commands=("company set",)),
    Permission("core.config", "Change settings in crm.toml", commands=("config set",)),
    Permission("core.modules", "Enable and disable modules", commands=("modules enable", "modules disable")),
    Permission("core.jobs.run", "Run the jobs and the worker, deliver and retry notifications",
               roles=("system",), commands=("jobs run", "jobs worker", "notifications deliver",
                                            "notifications retry")),
    Permission("core.tokens", "Create, list and revoke one's own personal API tokens and set one's web view "
               "password (crm serve's doors)",
               roles=READERS, commands=("token create", "token list", "token revoke", "user password")),
    Permission("core.serve", "Run the HTTP API server (crm serve)", commands=("serve",)),
    Permission("core.audit", "Read the audit trail", roles=("sales_manager", "accountant"), commands=("audit",)),
)


def kernel_record_rules(register) -> None:
    """A customer is its salesperson's (``core_partner.salesperson_id``), an order its salesperson's.

    As Odoo's "own documents only": a salesperson sees the customers and orders assigned to them
    and those nobody owns; an order for a customer defaults to the customer's salesperson, and a
    limited user only reaches (so orders and deals for) the customers they see. See
    docs/permissions.md.
    """
    from core.models import Partner, SalesOrder
    from core.security import RecordRule

    register(RecordRule("core.partner", Partner, owner="salesperson_id"))
    register(RecordRule("core.order", SalesOrder, owner="salesperson_id"))
