"""Commands of the service's repository, run from its root (each module says how)."""
