"""The second door: a JSON HTTP API onto the same services, rights and audit trail as the CLI.

``core.api.models`` and ``core.api.tokens`` need no web framework (``crm token`` uses them);
``core.api.web`` builds the Flask application that ``crm serve`` runs under gunicorn
(docs/api.md).
"""
