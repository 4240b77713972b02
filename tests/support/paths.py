"""Where the template repository and its caches are."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Virtualenvs and image bases, kept between runs and keyed by what they were built from.
CACHE = REPO / ".cache"
