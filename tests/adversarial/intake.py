"""Attacks through the submission's files: links, special files, names and sizes that the
grader reads before any code runs."""

from . import Attack  # noqa: F401 - the type every entry is

ATTACKS: list = []
