"""Arguments changed in place, copied back from the sandbox (autograder/grader/proxy.py
``write_back``): what can be reproduced in place is, and what cannot is marked changed,
never dropped: a check comparing the argument with a copy sees it modified."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.checks.common import same
from autograder.grader.proxy import write_back


def _x():
    return np.arange(12, dtype=np.float64).reshape(3, 4)


@pytest.mark.parametrize("name, new, faithful", [
    ("values", _x() * 0, True),
    ("reshaped", _x().reshape(4, 3), True),
    ("retyped, same itemsize", np.zeros((3, 4), np.int64), True),
    ("retyped, other itemsize", np.zeros((3, 8), np.int32), True),
    ("resized", np.zeros(13), False),
    ("another kind of object", [1, 2, 3], False),
    ("a scalar", 3.0, False),
])
def test_every_change_to_an_array_is_seen(name, new, faithful):
    kept, handed = _x(), _x()
    assert write_back(handed, new) is faithful
    assert not same(kept, handed), name
    if faithful:
        assert handed.dtype == new.dtype and np.array_equal(handed, new)


def test_a_read_only_array_is_never_touched():
    handed = _x()
    handed.flags.writeable = False
    assert write_back(handed, np.zeros(13)) is False
    assert handed.dtype == np.float64 and np.array_equal(handed, _x())


def test_an_unchanged_array_stays_equal():
    kept, handed = _x(), _x()
    assert write_back(handed, _x()) is True
    assert same(kept, handed)


@pytest.mark.parametrize("original, new", [([1, 2], (1, 2)), ({"a": 1}, [("a", 1)]),
                                           ({1, 2}, [1, 2]), (bytearray(b"ab"), "ab")])
def test_a_container_that_became_something_else_is_emptied(original, new):
    kept = type(original)(original)
    assert write_back(original, new) is False
    assert original != kept and len(original) == 0


def test_a_tensor_of_another_dtype_or_shape_takes_the_new_data():
    torch = pytest.importorskip("torch")
    t = torch.arange(6.0)
    assert write_back(t, torch.zeros(2, 3, dtype=torch.int64)) is False
    assert t.dtype == torch.int64 and tuple(t.shape) == (2, 3)
    u = torch.arange(6.0)
    assert write_back(u, torch.ones(6)) is True and torch.equal(u, torch.ones(6))
