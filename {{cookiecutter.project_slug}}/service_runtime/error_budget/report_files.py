"""The report's files: names and Markdown made safe from label values, and writes that never follow a link.

Label values come from Prometheus, so from whoever named a view, a release or an
SLO: they reach a file name only as letters, digits, '-' and '_', and Markdown
only escaped. The output directory may be shared: the report replaces only what
it wrote before, never a link someone planted there.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
from pathlib import Path

_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


class Unwritable(Exception):
    """The report cannot write a file it owns: one line says which and why."""


def file_name(prefix: str, label: str, suffix: str) -> str:
    """``prefix-<label><suffix>``, the label kept to safe characters; a changed label gets a short hash so
    two labels never share a file."""
    safe = _UNSAFE_IN_NAMES.sub("_", label)
    if safe != label or not safe:
        safe += "-" + hashlib.sha256(label.encode()).hexdigest()[:8]
    return f"{prefix}-{safe}{suffix}"


def markdown_text(value: str) -> str:
    """``value`` as literal Markdown text: one line, Markdown's punctuation escaped, no HTML."""
    one_line = " ".join(value.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line).replace("<", "&lt;").replace(">", "&gt;")


def write_new(directory: Path, name: str, text: str) -> None:
    """Writes ``directory/name``: a new file, or one replacing a regular file (an earlier report); never
    through a link or onto anything else. The text goes to a fresh temporary file first, which is then
    renamed over the name: a rename replaces the entry, it never follows it."""
    target = directory / name
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        kind = "a link" if stat.S_ISLNK(existing.st_mode) else "not a regular file"
        raise Unwritable(
            f"{target} is {kind}: the report writes only files it creates; remove it or choose another --output"
        )
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
