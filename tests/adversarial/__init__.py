"""The adversarial corpus: submissions that attack the grader, and what must happen.

Each :class:`Attack` is one submission of the tiny course (:mod:`.tinycourse`), built
from the released notebook with some answers replaced (``answers``), extra code cells
(``before``/``after`` a grade_id, ``None`` meaning the notebook's start/end), a change
to the notebook itself (``mutate``) or raw bytes instead of a notebook (``raw``).
Code may use ``$course``, ``$checks``, ``$repo``, ``$port`` and ``$canary``, filled in
when the course is built.

``setup(folder, subst)`` may add anything to the submission's folder after the notebook is
written (links, special files, more folders), or replace the folder or the student's
folder itself, for attacks that are not in the notebook. ``student`` is the name of the
student's folder when it is not the attack's name (hostile student ids).

``expect`` maps a test to what it must get: ``True`` (keeps its points), ``False``
(0 points) or an outcome (``"timeout"``, ``"crashed"``, ``"forbidden"``: 0 points with
that outcome). Tests not listed must keep their points: honest work is never lost to
an attack elsewhere in the notebook. ``notes`` are words the grader's notes on the
submission (its notebook's and its files') must contain; ``status`` is the notebook's
status, or ``"refused"``: the whole submission is refused and nothing of it is graded.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Attack:
    name: str
    what: str
    answers: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    mutate: object = None
    raw: object = None          #: bytes (or a callable returning bytes) instead of a notebook
    missing: bool = False       #: the notebook is not submitted at all
    setup: object = None        #: setup(folder: Path, subst: dict) after the notebook is written
    expect: dict = field(default_factory=dict)
    notes: tuple = ()
    status: str = "graded"
    student: str | None = None  #: the student folder's name, when not ``name``


def all_attacks() -> list:
    from . import escape, intake, integrity, notebooks, resources

    attacks = (resources.ATTACKS + integrity.ATTACKS + notebooks.ATTACKS + escape.ATTACKS
               + intake.ATTACKS)
    names = [a.name for a in attacks]
    assert len(names) == len(set(names)), "attack names must be unique"
    return attacks
