"""``crm serve``: the API under gunicorn, each worker with its own app, engine and modules.

gunicorn's sync workers serve one request at a time each (so the app's actor and business date
are the request's while it runs); ``--workers`` sets how many requests run at once. Behind a
reverse proxy, keep the default loopback address and let the proxy terminate TLS.
"""

from __future__ import annotations

from gunicorn.app.base import BaseApplication


class Server(BaseApplication):
    def __init__(self, make_app, options: dict, proxies: int = 0):
        self.make_app = make_app
        self.proxies = proxies
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        """Called in each worker after the fork: a fresh app (no engine or connection is shared)."""
        from core.api.web import create_app

        return create_app(self.make_app(), proxies=self.proxies)


def serve(make_app, *, host: str, port: int, workers: int, proxies: int = 0, timeout: int = 60,
          access_log: bool = False) -> None:
    """Run until stopped (SIGTERM / Ctrl-C); ``make_app()`` builds a :class:`core.app.App`."""
    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "sync", "threads": 1,
               "timeout": timeout, "graceful_timeout": 10, "preload_app": False, "proc_name": "crm-serve",
               "accesslog": "-" if access_log else None, "errorlog": "-", "loglevel": "warning"}
    Server(make_app, options, proxies).run()
