"""The service's own settings, read last by config/settings/base.py, so they may override the template's.

Template updates never touch this file: settings the team adds here never meet a
template change in a merge. Production values that differ per deployment come
from the environment (environment/readers.py has the readers).
"""
