"""A worker process of the PostgreSQL concurrency test (run as a script, not collected by pytest).

``python stock_worker.py CONFIG GO_DIR NAME confirm SO...`` confirms each order in a transaction of
its own; ``... NAME reorder N`` runs the reorder sweep N times. The worker writes ``NAME.ready``
in GO_DIR, waits (bounded) for ``go``, works, and prints ``{"done": n, "errors": [...]}``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(config: str, go_dir: str, name: str, mode: str, *items: str) -> None:
    from core.app import App
    from core.config import load_config

    app = App(load_config(config))
    app.engine.connect().close()  # connect before the start line, so the work overlaps
    folder = Path(go_dir)
    (folder / f"{name}.ready").write_text("ready\n")
    deadline = time.monotonic() + 60
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("never started")
        time.sleep(0.005)
    done, errors = 0, []
    if mode == "confirm":
        from core.services.orders import confirm_order, get_order

        for number in items:
            try:
                with app.transaction() as session:
                    confirm_order(app, session, get_order(session, number, lock=True))
                done += 1
            except Exception as exc:  # reported to the test, which expects none
                errors.append(f"{number}: {type(exc).__name__}: {exc}")
    else:
        from plugins.procurement.services_reorder import run_reorder

        for _ in range(int(items[0])):
            try:
                with app.transaction() as session:
                    run_reorder(app, session)
                done += 1
            except Exception as exc:
                errors.append(f"reorder: {type(exc).__name__}: {exc}")
    app.close()
    print(json.dumps({"done": done, "errors": errors}))


if __name__ == "__main__":
    main(*sys.argv[1:])
