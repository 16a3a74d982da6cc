"""Geometry of the HTML report's charts (inline SVG drawn by the template; no network, no JS)."""

from __future__ import annotations

from decimal import Decimal

WIDTH = 600
BAR = 28


def charts(report: dict) -> dict:
    """Funnel bars (centred, width ∝ count) and monthly trend bars (created and won value)."""
    stages = [s for s in report["stages"] if s["kind"] != "lost"]
    top = max([s["count"] for s in stages] + [1])
    funnel = []
    for index, stage in enumerate(stages):
        width = max(round(WIDTH * stage["count"] / top), 2)
        funnel.append({"y": index * (BAR + 6), "x": (WIDTH - width) // 2, "width": width, "label": stage["stage"],
                       "count": stage["count"], "value": stage["value"]})
    trend = report["trend"]
    peak = max([Decimal(t["won_value"]) for t in trend] + [Decimal(t["created_value"]) for t in trend] + [Decimal(1)])
    step = WIDTH // max(len(trend), 1)
    bars = []
    for index, month in enumerate(trend):
        created = int(160 * Decimal(month["created_value"]) / peak)
        won = int(160 * Decimal(month["won_value"]) / peak)
        bars.append({"x": index * step + 4, "width": max(step // 2 - 4, 2), "month": month["month"],
                     "created": created, "won": won, "created_value": month["created_value"],
                     "won_value": month["won_value"]})
    return {"width": WIDTH, "funnel": funnel, "funnel_height": len(funnel) * (BAR + 6), "bar": BAR,
            "trend": bars, "trend_height": 190}
