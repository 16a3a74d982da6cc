"""Entonnoir kernel: the app, config, module loader, hook specs, database and kernel entities.

The kernel never imports a plugin; plugins cooperate through the kernel's entities and hooks.
"""

__version__ = "0.1.0"
