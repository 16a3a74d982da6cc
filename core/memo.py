"""What one command worked out and the next may take as it is, kept between processes.

Two things every command works out the same way until something changes: the installed modules
(entry points and manifests, :func:`core.modules.discover`) and the checked config
(:mod:`core.configmemo`). Each is kept here as a pickled entry together with what it was worked out
from, which its caller compares before trusting it (the file's text, the folders' and the sources'
modification times); a stale, unreadable or foreign entry is as good as none.

Entries live in a folder of the system's temporary directory that only this user may read or write
(as the compiled templates do, :func:`core.rendering._bytecode_cache`); when no such folder can be
had, nothing is kept and every command works everything out again.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile

#: bump when the shape of an entry changes: older entries are then ignored
FORMAT = 2


def load(kind: str, key) -> dict | None:
    """The entry of ``kind`` kept under ``key`` (any ``repr``-able value), or None."""
    file = _file(kind, key)
    if file is None:
        return None
    try:
        with open(file, "rb") as found:
            entry = pickle.load(found)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != _digest(key):
        return None
    return entry


def store(kind: str, key, entry: dict) -> None:
    """Keep ``entry`` (a dict of picklable values) under ``key``, replacing the file atomically."""
    file = _file(kind, key)
    if file is None:
        return
    temporary = f"{file}.{os.getpid()}"
    try:
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            pickle.dump({**entry, "format": FORMAT, "key": _digest(key)}, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, file)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def unchanged(sources: dict[str, int]) -> bool:
    """Whether every file of ``{path: st_mtime_ns}`` is still there with that modification time."""
    try:
        return all(os.stat(source).st_mtime_ns == mtime for source, mtime in sources.items())
    except OSError:
        return False


def stamps(paths) -> dict[str, int]:
    """``{path: st_mtime_ns}`` of the ``paths`` that exist (for :func:`unchanged`)."""
    found = {}
    for path in paths:
        try:
            found[path] = os.stat(path).st_mtime_ns
        except OSError:
            pass
    return found


def _digest(key) -> str:
    """What an entry keeps of its key: a digest (a key may hold ``CRM_*`` secrets, never written)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()


def _file(kind: str, key) -> str | None:
    folder = private_folder()
    if folder is None:
        return None
    return os.path.join(folder, f"{kind}-{_digest(key)[:32]}.pickle")


def private_folder() -> str | None:
    """This user's private folder in the temporary directory (made on first use), or None."""
    folder = os.path.join(tempfile.gettempdir(), f"entonnoir-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    import stat

    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or stat.S_IMODE(found.st_mode) & 0o077:
        return None  # someone else's, or readable by others: keep nothing
    return folder
