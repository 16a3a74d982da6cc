"""Kernel entities: partners and their contacts, users, teams, products, sales orders.

A plugin extends one of these with its own table keyed by the entity's id (``billing_partner``
holding a customer's payment term), never by altering the kernel's table.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped
from core.types import Money, Percent, Quantity, UnitPrice

ROLES = ("sales", "collections", "purchasing", "admin")
PARTNER_KINDS = ("company", "person")
ORDER_STATES = ("draft", "confirmed", "delivered", "cancelled")
#: what a product is for the law (CGI art. 242 nonies A: the invoice says goods, services or both)
PRODUCT_KINDS = ("goods", "service")
#: the languages a partner can read documents in (the company's locale by default)
LANGUAGES = ("fr", "en")
#: French VAT rates (percent): normal, intermediate, reduced, super-reduced, and exempt.
VAT_RATES = (Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1"), Decimal("0"))


class Partner(Timestamped, Base):
    """A company or a person we sell to (customer) and/or buy from (supplier)."""

    __tablename__ = "core_partner"
    __table_args__ = (CheckConstraint("kind IN ('company', 'person')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="company")
    is_customer: Mapped[bool] = mapped_column(default=True)
    is_supplier: Mapped[bool] = mapped_column(default=False)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    siren: Mapped[str | None] = mapped_column(String(9), index=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    #: the language of what this partner reads (e-mails, PDFs); None: the company's
    language: Mapped[str | None] = mapped_column(String(2))
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))
    active: Mapped[bool] = mapped_column(default=True)

    contacts: Mapped[list[Contact]] = relationship(back_populates="partner", cascade="all, delete-orphan",
                                                   order_by="Contact.id")
    salesperson: Mapped[User | None] = relationship()

    @property
    def is_business(self) -> bool:
        """Business customers owe the 40 € recovery indemnity; consumers do not."""
        return self.kind == "company"


class Contact(Timestamped, Base):
    """A person at a partner company."""

    __tablename__ = "core_contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    function: Mapped[str | None] = mapped_column(String(100))

    partner: Mapped[Partner] = relationship(back_populates="contacts")


class User(Timestamped, Base):
    """Someone who works in the CRM, with one role that decides what they are told about."""

    __tablename__ = "core_user"
    __table_args__ = (CheckConstraint("role IN ('sales', 'collections', 'purchasing', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(20), default="sales")
    active: Mapped[bool] = mapped_column(default=True)
    #: the OS login that is this user on a SQLite workspace (the file's permissions are the boundary)
    os_login: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: the PostgreSQL role (``current_user``) that is this user on a shared database
    db_role: Mapped[str | None] = mapped_column(String(63), unique=True)


class Team(Timestamped, Base):
    """A group of users (a sales team, the collections team) with a leader."""

    __tablename__ = "core_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"))

    leader: Mapped[User | None] = relationship()
    members: Mapped[list[User]] = relationship(secondary="core_team_member", order_by="User.login")


class TeamMember(Base):
    """Membership of a user in a team."""

    __tablename__ = "core_team_member"

    team_id: Mapped[int] = mapped_column(ForeignKey("core_team.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True)


class Product(Timestamped, Base):
    """Something we sell and possibly stock."""

    __tablename__ = "core_product"
    __table_args__ = (CheckConstraint("kind IN ('goods', 'service')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="unit")
    list_price: Mapped[UnitPrice] = mapped_column(default=Decimal("0"))
    vat_rate: Mapped[Percent] = mapped_column(default=Decimal("20"))
    stockable: Mapped[bool] = mapped_column(default=True)
    #: goods or service: the invoice's nature of the operation (2026 e-invoicing reform) comes from it
    kind: Mapped[str] = mapped_column(String(10), default="goods", server_default="goods")
    active: Mapped[bool] = mapped_column(default=True)


class SalesOrder(Timestamped, Base):
    """A customer's order: the seam between the funnel, billing and procurement."""

    __tablename__ = "core_sales_order"
    __table_args__ = (CheckConstraint("state IN ('draft', 'confirmed', 'delivered', 'cancelled')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id"), index=True)
    salesperson_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("core_team.id"))
    state: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    order_date: Mapped[dt.date]
    confirmed_at: Mapped[dt.date | None]
    delivered_at: Mapped[dt.date | None]
    cancelled_at: Mapped[dt.date | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    #: where the order came from ("funnel:deal:42", "import", "cli"): free text for people and reports.
    origin: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    #: where the goods go when it is not the customer's address (an invoice prints it: French law)
    delivery_street: Mapped[str | None] = mapped_column(String(200))
    delivery_postal_code: Mapped[str | None] = mapped_column(String(20))
    delivery_city: Mapped[str | None] = mapped_column(String(100))
    delivery_country: Mapped[str | None] = mapped_column(String(2))
    total_untaxed: Mapped[Money] = mapped_column(default=Decimal("0"))
    total_tax: Mapped[Money] = mapped_column(default=Decimal("0"))
    total: Mapped[Money] = mapped_column(default=Decimal("0"))

    customer: Mapped[Partner] = relationship()
    salesperson: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()
    lines: Mapped[list[SalesOrderLine]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                      order_by="SalesOrderLine.sequence")


class SalesOrderLine(Base):
    """One product line of a sales order; amounts are computed by the order service."""

    __tablename__ = "core_sales_order_line"
    __table_args__ = (UniqueConstraint("order_id", "sequence"),
                      CheckConstraint("quantity > 0", name="quantity_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("core_sales_order.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[Quantity]
    unit_price: Mapped[UnitPrice]
    discount: Mapped[Percent] = mapped_column(default=Decimal("0"))
    vat_rate: Mapped[Percent]
    subtotal: Mapped[Money]

    order: Mapped[SalesOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class Company(Timestamped, Base):
    """Our own legal identity, printed on every invoice, letter and purchase order: one row.

    Code de commerce L441-9 and R123-237, CGI art. 242 nonies A: name, legal form, address, SIREN,
    registry, share capital, VAT number; the 2026 e-invoicing reform adds the VAT-on-debits option
    and the electronic address invoices are received at. Changed with ``crm company set``.
    """

    __tablename__ = "core_company"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    name: Mapped[str | None] = mapped_column(String(200))
    legal_form: Mapped[str | None] = mapped_column(String(20))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="FR")
    siren: Mapped[str | None] = mapped_column(String(9))
    siret: Mapped[str | None] = mapped_column(String(14))
    #: RCS (commerce), RM (crafts: répertoire des métiers) or RNE (other sole traders)
    trade_register: Mapped[str | None] = mapped_column(String(3))
    register_city: Mapped[str | None] = mapped_column(String(100))
    share_capital: Mapped[Money | None]
    vat_number: Mapped[str | None] = mapped_column(String(20))
    iban: Mapped[str | None] = mapped_column(String(34))
    bic: Mapped[str | None] = mapped_column(String(11))
    bank: Mapped[str | None] = mapped_column(String(100))
    #: "option pour le paiement de la TVA d'après les débits" (CGI art. 269-2-c), printed when chosen
    vat_on_debits: Mapped[bool] = mapped_column(default=False)
    #: "franchise en base de TVA" (CGI art. 293 B): no VAT invoiced, the mention printed instead
    vat_franchise: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: where e-invoices reach us, and its scheme (0225: SIREN-based French address, 0009: SIRET)
    einvoice_address: Mapped[str | None] = mapped_column(String(100))
    einvoice_scheme: Mapped[str | None] = mapped_column(String(4))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    #: a file in the workspace (``crm company set --logo`` copies it there), relative to the config
    logo: Mapped[str | None] = mapped_column(String(200))


class Role(Timestamped, Base):
    """A custom role: a named set of rights (the built-in roles are declared in code, core.security)."""

    __tablename__ = "core_role"
    __table_args__ = (CheckConstraint("scope IN ('own', 'team', 'all')", name="scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    #: which records its holders see where a module declares a record rule: their own, their team's, all
    scope: Mapped[str] = mapped_column(String(4), default="all")


class RoleRight(Base):
    """One right held by a custom role."""

    __tablename__ = "core_role_right"

    role_id: Mapped[int] = mapped_column(ForeignKey("core_role.id", ondelete="CASCADE"), primary_key=True)
    right: Mapped[str] = mapped_column(String(100), primary_key=True)


class UserRole(Base):
    """A role (built-in or custom, by name) given to a user, besides the role of ``core_user.role``."""

    __tablename__ = "core_user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class AuditEntry(Base):
    """One line of the audit trail: who changed what, when, through which command. Never rewritten.

    On PostgreSQL a trigger refuses UPDATE and DELETE on this table, and the money tables' own
    triggers write here with ``current_user``, whatever door the change came through.
    """

    __tablename__ = "core_audit"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    logged_at: Mapped[dt.datetime] = mapped_column(index=True)
    business_date: Mapped[dt.date | None] = mapped_column(index=True)
    #: the crm user the change is done as; ``real_user`` is the admin acting for them (``--as``)
    user_login: Mapped[str | None] = mapped_column(String(64), index=True)
    real_user: Mapped[str | None] = mapped_column(String(64))
    #: the database role (PostgreSQL ``current_user``) or OS login (SQLite) that ran it
    db_user: Mapped[str | None] = mapped_column(String(64))
    command: Mapped[str | None] = mapped_column(String(200))
    #: create, update, delete, job, module, setting, sent
    action: Mapped[str] = mapped_column(String(20))
    record_type: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[str | None] = mapped_column(String(40))
    record_label: Mapped[str | None] = mapped_column(String(100), index=True)
    #: JSON: {field: [before, after]} for a change, or what a job or command did
    changes: Mapped[str | None] = mapped_column(Text)
