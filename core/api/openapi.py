"""What the OpenAPI document must say of every route: checked by the test suite (tests/api/test_openapi.py)."""

from __future__ import annotations

WRITES = ("post", "put", "patch")


def gaps(spec: dict, rules: list[tuple[str, set[str]]]) -> list[str]:
    """Every route of ``rules`` (``[(path, {methods})]``, Flask's) missing from ``spec`` or undocumented.

    A route is documented when its operation has a summary, a success response with a schema and,
    for a write that takes a body, the body's schema.
    """
    found = []
    paths = spec.get("paths", {})
    for path, methods in rules:
        openapi_path = path.replace("<", "{").replace(">", "}")
        for method in sorted(m.lower() for m in methods - {"HEAD", "OPTIONS"}):
            operation = paths.get(openapi_path, {}).get(method)
            where = f"{method.upper()} {openapi_path}"
            if operation is None:
                found.append(f"{where}: not in the OpenAPI document")
                continue
            if not operation.get("summary"):
                found.append(f"{where}: no summary (the view's docstring)")
            success = [r for code, r in operation.get("responses", {}).items() if str(code).startswith("2")]
            if not success or not all(_schemas(r) for r in success):
                found.append(f"{where}: a success response without a schema (@blp.response(code, Schema))")
            body = operation.get("requestBody")
            if body is not None and not _schemas(body):
                found.append(f"{where}: a request body without a schema (core.api.http.body)")
    return found


def _schemas(part) -> bool:
    content = part.get("content") if isinstance(part, dict) else None
    return bool(content) and all(media.get("schema") for media in content.values())
