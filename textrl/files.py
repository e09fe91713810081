"""Writing files so that a crash never leaves half of one, reading JSON-lines files a
user wrote, each bad line named, and reading a log kept compressed."""

from __future__ import annotations

import gzip
import json
import lzma
import os
import tempfile
from pathlib import Path

from textrl.errors import UserError

# How a finished run's log may be kept compressed (benchmarks/out: xz -9e; gzip before), by
# suffix: the format's name, how to read it, and the command that unpacks it by hand.
COMPRESSED = {".xz": ("xz", lzma.decompress, "unxz"), ".gz": ("gzip", gzip.decompress, "gunzip")}


def kept(path: Path) -> Path:
    """``path`` or, where only that is kept, its compressed copy ``path.xz`` (or
    ``path.gz``); ``path`` where none exists (a live run writes the plain file)."""
    if path.exists():
        return path
    copies = (path.with_name(path.name + suffix) for suffix in COMPRESSED)
    return next((copy for copy in copies if copy.exists()), path)


def read_kept(path: Path) -> str:
    """The UTF-8 text of ``path``, decompressed where its suffix names a ``COMPRESSED`` format."""
    compressed = COMPRESSED.get(path.suffix)
    if compressed is None:
        return path.read_text("utf-8")
    return compressed[1](path.read_bytes()).decode("utf-8")


def atomic_write(path: Path, write) -> None:
    """Call ``write(file_object)`` on a temporary file, then rename it over ``path``: a
    crash leaves the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json_lines(path: Path, text: str, example: str) -> list[tuple[int, dict]]:
    """``(line number, object)`` of each non-blank line of ``text`` (read from ``path``); a
    line that is not a JSON object is a UserError naming ``path:line`` and showing
    ``example``, a line of the kind expected."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not JSON ({exc.msg}); write one JSON object a "
                            f"line, e.g. {example}") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{number}: not a JSON object (a {type(row).__name__}); "
                            f"write one JSON object a line, e.g. {example}")
        rows.append((number, row))
    return rows
