"""Entonnoir's built-in modules. Each is found through its ``entonnoir.plugins`` entry point,
exactly like a third-party module, and none imports another."""
