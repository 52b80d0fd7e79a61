"""The hidden checks hold for any course's salt: a correct solution keeps every point
whatever hidden inputs a term draws, and the same inputs are drawn for the same salt.

Each course draws its own random salt at its first grading (``autograder.seeds``), so a
check whose inputs are only valid for some draws (a window that does not fit, a
degenerate shape) fails correct work in some courses and not others. The solutions of
every assignment are run against the hidden checks under several salts."""

from __future__ import annotations

import pytest

from autograder import seeds
from mutants import harness

ASSIGNMENTS = ["ps01_convolution", "ps02_conv_backprop", "ps03_pooling",
               "ps04_receptive_fields", "ps05_lenet", "ps06_alexnet_vgg", "ps07_googlenet",
               "ps08_batchnorm_resnet"]
#: Arbitrary salts, as a course's first grading would draw them (16+ characters).
SALTS = ["3f9c1e77a0b24d5e8c61f0a9d2b4e7c1", "course-2027-spring/9d1a5c", "0000000000000000",
         "a\N{GREEK SMALL LETTER ALPHA}salt-with-unicode-\N{SNOWMAN}",
         "ffffffffffffffffffffffffffffffff"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_keep_every_point_under_any_salt(assignment):
    ns = harness.build_namespace(assignment)
    assert not ns.errors, f"solution cells failed: {ns.errors}"
    failures = []
    for salt in SALTS:
        with seeds.using(salt):
            for test in harness.test_ids(assignment):
                outcome = harness.run_test(ns, test, "hidden")
                if not outcome.passed:
                    failures.append(f"salt {salt!r}, {test}: {outcome.message[:300]}")
    assert not failures, "\n".join(failures)


def test_the_salt_decides_the_inputs():
    with seeds.using(SALTS[0]):
        a, b = seeds.rng("ps01.x").normal(size=4), seeds.rng("ps01.x").normal(size=4)
        c = seeds.rng("ps01.y").normal(size=4)
    with seeds.using(SALTS[1]):
        d = seeds.rng("ps01.x").normal(size=4)
    assert (a == b).all() and not (a == c).all() and not (a == d).all()
