"""Cookiecutter runs pre_gen_project.py and post_gen_project.py by name; the package lets tests import them."""
