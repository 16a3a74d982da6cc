"""Files the commands write: private to their owner, written whole.

The database, the config, the outbox, letters, reports and PDFs hold customers' data, so they are
created ``0600`` and the folders made for them ``0700`` — minus what the umask takes away (the
mode asked of the system is masked by the process's umask, as every Unix program's is).
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: str | os.PathLike) -> Path:
    """Make ``folder`` and its missing parents, each ``0700`` (less the umask); an existing one is left alone."""
    folder = Path(folder)
    missing = []
    for candidate in [folder, *folder.parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            candidate.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # made meanwhile by another process
            pass
    if not folder.is_dir():
        raise NotADirectoryError(20, "not a folder", str(folder))
    return folder


def create_private(path: str | os.PathLike) -> bool:
    """Create ``path`` empty with mode ``0600`` (less the umask) if it does not exist; True if made."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        return False
    return True


def write_private(path: str | os.PathLike, content: bytes) -> Path:
    """Write ``content`` to ``path`` under a temporary name, then rename: a reader never sees half a file.

    A new file is ``0600`` (less the umask); a file replaced keeps the mode it had.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def opener(path, flags):
    """``open(..., opener=opener)``: a file created ``0600`` (less the umask)."""
    return os.open(path, flags, FILE_MODE)


def output_path(output: str | os.PathLike | None, default_name: str) -> Path:
    """Where to write the file a command was told to write with ``-o``/``--output``.

    No output: ``default_name`` in the current folder. An existing folder, or a name ending with
    ``/`` (``-o pdfs/``): ``default_name`` inside it, the folder made (``0700``) if missing. Else
    the file named.
    """
    if output is None:
        return Path.cwd() / default_name
    text = os.fspath(output)
    target = Path(text)
    if text.endswith((os.sep, "/")) or target.is_dir():
        return private_folder(target) / default_name
    return target
