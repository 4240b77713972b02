"""Jinja filters for the bake (cookiecutter loads this module through ``_extensions``).

Standard library only, like the hooks: it runs in the user's cookiecutter environment.
"""

from __future__ import annotations

import json

from cookiecutter.utils import simple_filter


@simple_filter
def quoted(text: object) -> str:
    """``text`` as a double-quoted string that TOML, YAML and JSON all read back unchanged.

    Jinja's ``tojson`` writes a character outside the Basic Multilingual Plane (an
    emoji) as a UTF-16 surrogate pair, ``\\ud83d\\ude80``, which TOML and YAML
    refuse. Here every non-ASCII character is escaped by its code point instead,
    ``\\uXXXX`` or ``\\UXXXXXXXX``, a spelling all three accept (JSON only the
    first, so this is for TOML and YAML files), and DEL, which TOML refuses raw,
    is escaped as well.
    """
    escaped = json.dumps(str(text), ensure_ascii=False)
    return "".join(_escape(char) for char in escaped)


def _escape(char: str) -> str:
    point = ord(char)
    if point < 0x7F:
        return char
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"
