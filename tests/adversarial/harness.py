"""Running the corpus: build every attack's submission, grade them in one batch, judge."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from pathlib import Path

from . import Attack, tinycourse as tc

TESTS = ("test_scale", "test_relu_forward", "test_relu_backward", "test_conv_output_size")


def fill(code: str, subst: dict) -> str:
    return string.Template(code).safe_substitute(subst)


def student_of(attack: Attack) -> str:
    """The name of the attack's student folder."""
    return attack.student if attack.student is not None else attack.name


def shown_as(attack: Attack) -> str:
    """The name the grader reports the attack's student under (an invalid id is shown
    escaped and quoted, never graded under another name)."""
    from autograder.grader.untrusted import shown_name, student_id_problem

    name = student_of(attack)
    return shown_name(name) if student_id_problem(name) else name


def submit_attack(course: Path, attack: Attack, subst: dict) -> None:
    student = student_of(attack)
    folder = course / "submitted" / student / tc.ASSIGNMENT
    if attack.missing:
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text("2030-01-01 12:00:00.000000 UTC\n")
    elif attack.raw is not None:
        raw = attack.raw() if callable(attack.raw) else attack.raw
        tc.submit(course, student, raw)
    else:
        answers = {k: fill(v, subst) for k, v in attack.answers.items()}
        before = {k: [fill(s, subst) for s in v] for k, v in attack.before.items()}
        after = {k: [fill(s, subst) for s in v] for k, v in attack.after.items()}
        nb = tc.submission(course, answers, before, after, attack.mutate)
        tc.submit(course, student, json.dumps(nb, indent=1).encode())
    if attack.setup is not None:
        folder.mkdir(parents=True, exist_ok=True)
        attack.setup(folder, subst)


@dataclass
class Verdict:
    attack: Attack
    result: object
    failures: list

    def row(self) -> list:
        r = self.result
        if r is None:
            return [self.attack.name, "(no result)", "", "", "FAIL"]
        verdict = "ok" if not self.failures else "FAIL: " + "; ".join(self.failures)
        if r.refused:
            return [self.attack.name, self.attack.what, "refused", r.refused[:110], verdict]
        outcomes = []
        for t in r.tests:
            mark = f"{t.points:g}" if t.passed else f"0 {t.status}"
            outcomes.append(f"{t.grade_id.replace('test_', '')}={mark}")
        status = r.notebooks[0].status if r.notebooks else "-"
        return [self.attack.name, self.attack.what, f"{r.score:g}/{r.max_score:g} {status}",
                ", ".join(outcomes),
                "ok" if not self.failures else "FAIL: " + "; ".join(self.failures)]


def judge(attack: Attack, result) -> Verdict:
    fails = []
    if result is None:
        return Verdict(attack, None, ["no result"])
    if result.error:
        return Verdict(attack, result, [f"grader error: {result.error.splitlines()[0]}"])
    if attack.status == "refused" or result.refused:
        if attack.status != "refused":
            fails.append(f"refused: {result.refused}")
        elif not result.refused:
            fails.append(f"graded ({result.score:g} points), not refused")
        elif result.tests or result.score:
            fails.append("a refused submission has test results")
        text = (result.refused or "").lower()
        fails += [f"the refusal does not mention {w!r}" for w in attack.notes
                  if w.lower() not in text]
        return Verdict(attack, result, fails)
    if result.not_recorded and attack.status != "missing":
        fails.append(f"not recorded: {result.not_recorded[0][:100]}")
    by = {t.grade_id: t for t in result.tests}
    if set(by) != set(TESTS):
        fails.append(f"tests graded: {sorted(by)}")
    if result.max_score != 7:
        fails.append(f"max score {result.max_score:g}, not 7")
    for gid in TESTS:
        t = by.get(gid)
        if t is None:
            continue
        want = attack.expect.get(gid, True)
        if want is True and t.points != t.max_points:
            fails.append(f"{gid} lost its points ({t.status}: {t.message[:80]})")
        if want is not True and t.points != 0:
            fails.append(f"{gid} earned {t.points:g} points")
        if isinstance(want, str) and t.status != want:
            fails.append(f"{gid} is {t.status}, not {want}")
    nb = result.notebooks[0]
    if nb.status != attack.status:
        fails.append(f"notebook status {nb.status}, not {attack.status}")
    notes = list(result.notes) + list(nb.problems)
    text = " ".join(notes).lower()
    for word in attack.notes:
        if word.lower() not in text:
            fails.append(f"no note mentions {word!r} (notes: {notes})")
    return Verdict(attack, result, fails)


def table(verdicts) -> str:
    headers = ["attack", "what it does", "score", "tests (points or outcome)", "verdict"]
    rows = [v.row() for v in verdicts]
    caps = [32, 64, 18, 110, 80]
    widths = [min(cap, max(len(h), *(len(str(r[i])) for r in rows)))
              for i, (h, cap) in enumerate(zip(headers, caps))]
    def fmt(row):
        return " | ".join(str(c)[:w].ljust(w) for c, w in zip(row, widths)).rstrip()
    lines = [fmt(headers), "-+-".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    return "\n".join(lines)
