"""Funnel module: leads, opportunities through pipeline stages, activities, targets, funnel reports.

Works alone on the kernel; a won opportunity becomes a confirmed kernel sales order, so billing
and procurement react to it without knowing this module exists.
"""

MANIFEST = {
    "name": "funnel",
    "version": "0.1.0",
    "summary": "Leads, opportunities, pipeline stages, activities, targets and funnel reports",
    "depends": [],
    "migrations": None,
}
