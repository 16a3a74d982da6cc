"""Kernel services: domain logic over a session and plain values; no terminal I/O."""
