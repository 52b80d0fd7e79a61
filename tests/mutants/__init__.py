"""Realistic student bugs (mutants) and correct alternative answers for the exercises,
run in-process against the hidden checks (see ``harness``)."""
