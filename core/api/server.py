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


def check_address(host: str, port: int) -> None:
    """Refuse at once, in one line, an address that is not an IP or a port already taken."""
    import ipaddress
    import socket

    import click

    try:
        address = ipaddress.ip_address("127.0.0.1" if host == "localhost" else host)
    except ValueError:
        raise click.BadParameter(f"{host!r} is not an IP address (127.0.0.1, ::1, 0.0.0.0)",
                                 param_hint="--host") from None
    with socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((str(address), port))
        except OSError as exc:
            raise click.BadParameter(f"cannot listen on {host}:{port}: {exc.strerror}", param_hint="--port") from None


def serve(make_app, *, host: str, port: int, workers: int, proxies: int = 0, timeout: int = 60,
          access_log: bool = False) -> None:
    """Run until stopped (SIGTERM / Ctrl-C); ``make_app()`` builds a :class:`core.app.App`."""
    options = {"bind": f"{host}:{port}", "workers": workers, "worker_class": "sync", "threads": 1,
               "timeout": timeout, "graceful_timeout": 10, "preload_app": False, "proc_name": "crm-serve",
               "accesslog": "-" if access_log else None, "errorlog": "-", "loglevel": "warning"}
    Server(make_app, options, proxies).run()
