#!/usr/bin/env python
"""Django's command-line utility. Defaults to dev settings; the container sets production."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as error:  # a setting the environment got wrong: one line names it
        sys.exit(f"ImproperlyConfigured: {error}")


if __name__ == "__main__":
    main()
