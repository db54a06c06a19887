"""What crosses between the grader's host half and its sandboxed processes.

The host (:mod:`nngrader.host`) and the sandbox half (:mod:`nngrader.sandbox`) share this
module and nothing else: the wire format (one JSON object per line), the limits each side
holds the other to, and the names both must agree on.
"""

from __future__ import annotations

import json
import os

#: Modules whose imports the judge runs itself (an instructor cell's ``import numpy as np``
#: gives the judge its own numpy, never the student's).
TRUSTED_PREFIXES = ("numpy", "nnlib", "math", "builtins", "operator", "functools", "random")
STREAM_LIMIT = 20_000  # characters of stdout/stderr kept per cell


class JsonLines:
    """The grader's protocol: one JSON object per line, read from ``rfd``, written to ``wfd``."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfile = os.fdopen(rfd, "rb", buffering=0)
        self.wfd = wfd
        self.buffer = b""

    def send(self, message: dict) -> None:
        view = memoryview((json.dumps(message) + "\n").encode())
        while view:
            view = view[os.write(self.wfd, view) :]

    def receive(self) -> dict | None:
        """The next message, or None once the grader closed the pipe."""
        while b"\n" not in self.buffer:
            chunk = self.rfile.read(1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)
