"""The salt of the hidden inputs (``autograder/seeds.py``): the course's own, drawn at its
first grading, kept, never the public development salt where grading needs a secret."""

from __future__ import annotations

import stat
import sys
import types

import numpy as np
import pytest

from autograder import seeds


@pytest.fixture
def no_salt_env(monkeypatch):
    monkeypatch.delenv(seeds.SALT_FILE_ENV, raising=False)


def test_the_api_the_checks_use(no_salt_env):
    s = seeds.seed("ps01/test_conv")
    assert 0 <= s < 2**63 and s == seeds.seed("ps01/test_conv") != seeds.seed("ps01/other")
    assert seeds.rng("a").normal() == seeds.rng("a").normal()
    for bad in ("", None, 3):
        with pytest.raises(TypeError, match="test_name"):
            seeds.seed(bad)


@pytest.mark.slow  # imports torch
def test_the_torch_generator(no_salt_env):
    import torch

    assert torch.equal(torch.randn(3, generator=seeds.torch_generator("a")),
                       torch.randn(3, generator=seeds.torch_generator("a")))
    with seeds.using("another-salt-for-a-term"):
        other = torch.randn(3, generator=seeds.torch_generator("a"))
    assert not torch.equal(other, torch.randn(3, generator=seeds.torch_generator("a")))


def test_outside_a_course_the_development_salt(no_salt_env):
    assert seeds.salt() == seeds.DEVELOPMENT_SALT


def test_a_salt_file_is_created_once_private_and_reused(tmp_path, monkeypatch):
    path = tmp_path / "course" / seeds.SALT_FILE_NAME
    monkeypatch.setenv(seeds.SALT_FILE_ENV, str(path))
    first = seeds.salt()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first != seeds.DEVELOPMENT_SALT and len(first) == 64
    assert seeds.salt() == first and seeds.load(path) == first
    inputs = seeds.rng("t").normal(size=4)
    monkeypatch.delenv(seeds.SALT_FILE_ENV)
    assert not np.array_equal(seeds.rng("t").normal(size=4), inputs)  # development inputs
    monkeypatch.setenv(seeds.SALT_FILE_ENV, str(path))
    assert np.array_equal(seeds.rng("t").normal(size=4), inputs)       # a regrade's


def test_two_graders_starting_at_once_agree(tmp_path):
    path = tmp_path / seeds.SALT_FILE_NAME
    a, created_a = seeds.new(path, replace=False)
    b, created_b = seeds.new(path, replace=False)
    assert created_a and not created_b and a == b == seeds.load(path)
    assert not [p for p in tmp_path.iterdir() if p.name != seeds.SALT_FILE_NAME]  # no leftovers


def test_a_new_term_draws_a_new_salt(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(seeds.SALT_FILE_ENV, raising=False)
    course = tmp_path / "course"
    course.mkdir()
    assert seeds.main(["path", "--course", str(course)]) == 0
    assert capsys.readouterr().out.strip() == str(course / seeds.SALT_FILE_NAME)
    assert seeds.main(["new", "--course", str(course)]) == 0
    old = seeds.load(course / seeds.SALT_FILE_NAME)
    assert seeds.main(["new", "--course", str(course)]) == 0
    assert seeds.load(course / seeds.SALT_FILE_NAME) != old
    assert "new salt" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        seeds.main(["new", "--course", str(tmp_path / "nope")])


def test_an_instructors_own_salt_and_bad_ones(tmp_path):
    path = tmp_path / "own.salt"
    path.write_text("# our course, spring term\n  correct-horse-battery-staple \n")
    assert seeds.load(path) == "correct-horse-battery-staple"
    for text, words in (("short\n", "at least 16"), (f"{seeds.DEVELOPMENT_SALT}\n", "public"),
                        ("# only a comment\n", "0 characters")):
        path.write_text(text)
        with pytest.raises(seeds.SaltError, match=words):
            seeds.load(path)
    with pytest.raises(seeds.SaltError, match="does not exist"):
        seeds.load(tmp_path / "missing.salt")
    path.write_bytes(b"\xff\xfe" * 20)
    with pytest.raises(seeds.SaltError, match="cannot be read"):
        seeds.load(path)


def test_using_overrides_and_restores(no_salt_env):
    with seeds.using("a-salt-for-this-job-0001"):
        inside = seeds.seed("t")
        with seeds.using(None):
            assert seeds.seed("t") == inside
    assert seeds.seed("t") != inside and seeds.salt() == seeds.DEVELOPMENT_SALT
    with pytest.raises(TypeError, match="salt"):
        with seeds.using(123):
            pass


def test_a_kernel_without_a_salt_refuses_to_grade(no_salt_env, monkeypatch, tmp_path):
    """Where nbgrader runs the checks (a Jupyter kernel) there is no public fallback."""
    shell = type("ZMQInteractiveShell", (), {})()
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    with pytest.raises(seeds.SaltError, match=seeds.SALT_FILE_ENV):
        seeds.seed("t")
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv(seeds.SALT_FILE_ENV, str(tmp_path / "a-file" / "x.salt"))
    with pytest.raises(seeds.SaltError, match="cannot be"):
        seeds.seed("t")  # named but not creatable: an error, never the public salt
