"""Attacks on the sandbox itself: what a submission can see, keep or change from inside."""

from . import Attack  # noqa: F401 - the type every entry is

ATTACKS: list = []
