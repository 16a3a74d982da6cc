"""WeasyPrint's native libraries are looked up once, then found as the last process found them
(:func:`core.documents.weasyprint`): each lookup of a missing name runs ``ldconfig``, ``gcc`` and ``ld``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: a fresh process importing WeasyPrint through the kernel, counting the lookups that reach ctypes
CHILD = r"""
import ctypes.util, json
calls = []
real = ctypes.util.find_library
def counted(name):
    calls.append(name)
    return real(name)
ctypes.util.find_library = counted
from core.documents import weasyprint
pdf = weasyprint().HTML(string="<p>Bonjour</p>").write_pdf()
print(json.dumps({"looked_up": len(calls), "pdf": pdf[:5].decode(), "restored": ctypes.util.find_library is counted}))
"""


def _child(tmp_path, **environment) -> dict:
    env = {**os.environ, "TMPDIR": str(tmp_path), **environment}  # the kept answers live in TMPDIR
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_the_libraries_are_looked_up_by_the_first_process_only(tmp_path):
    first = _child(tmp_path)
    assert first["looked_up"] > 0 and first["pdf"] == "%PDF-" and first["restored"]
    again = _child(tmp_path)
    assert again == {"looked_up": 0, "pdf": "%PDF-", "restored": True}
    # another library path may hold other libraries: looked up again
    assert _child(tmp_path, LD_LIBRARY_PATH=str(tmp_path))["looked_up"] > 0
