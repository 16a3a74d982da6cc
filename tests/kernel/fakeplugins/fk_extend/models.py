"""fk_extend's tables: one row per extended record, keyed by its id."""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.types import Money


class PartnerCredit(Base):
    __tablename__ = "fk_extend_partner"
    partner_id: Mapped[int] = mapped_column(ForeignKey("core_partner.id", ondelete="CASCADE"), primary_key=True)
    credit_limit: Mapped[Money | None]
    segment: Mapped[str | None] = mapped_column(String(20))


class ProductWarranty(Base):
    __tablename__ = "fk_extend_product"
    product_id: Mapped[int] = mapped_column(ForeignKey("core_product.id", ondelete="CASCADE"), primary_key=True)
    warranty_months: Mapped[int | None]


class OrderProject(Base):
    __tablename__ = "fk_extend_order"
    order_id: Mapped[int] = mapped_column(ForeignKey("core_sales_order.id", ondelete="CASCADE"), primary_key=True)
    project_code: Mapped[str | None] = mapped_column(String(20))


class InvoiceCostCentre(Base):
    __tablename__ = "fk_extend_invoice"
    # a plain id, no foreign key: another module's table (docs/plugins.md)
    invoice_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    cost_centre: Mapped[str | None] = mapped_column(String(20))
