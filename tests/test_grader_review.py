"""Code flagged for review by hand (autograder/grader/review.py): introspection that can
defeat the in-process guard or the checks is named, with its cell, in the student's
feedback, the printed summary and the class report; honest code is not flagged; no
points are taken."""

from __future__ import annotations

import json

from pathlib import Path

import pytest

from adversarial import tampering
from adversarial.cell_files import cells
from autograder.grader import class_report, feedback, outputs, report, review
from autograder.grader.results import (NotebookResult, NotebookStatus, Status,
                                       SubmissionResult, TestResult)
from mutants.alternatives import ALTERNATIVES

SOURCES = Path(__file__).resolve().parents[1] / "exercises" / "source"

#: (what the scan must name, a cell that uses it): one of each kind of spelling.
FLAGGED = [
    # named literally: an attribute of anything, a module's function, an import
    ("sys.getprofile", "import sys\np = sys.getprofile()\n"),
    ("__globals__", "def f():\n    pass\ng = f.__globals__\n"),
    ("__closure__", "h = (lambda: 1).__closure__\n"),
    ("cell_contents", "x = c.cell_contents\n"),
    ("sys._getframe", "import sys\nf = sys._getframe(1)\n"),
    ("sys.settrace", "import sys\nsys.settrace(None)\n"),
    ("threading.setprofile", "import threading\nthreading.setprofile(f)\n"),
    ("gc.get_objects", "import gc\nobjs = gc.get_objects()\n"),
    ("gc.get_referrers", "from gc import get_referrers\n"),
    ("__code__", "code = len.__code__\n"),
    ("__code__", "code = getattr(len, '__code__')\n"),
    ("f_back", "import inspect\nup = inspect.currentframe().f_back\n"),
    ("replace(co_consts=...)", "c2 = c.replace(co_consts=())\n"),
    ("types.CodeType", "import types\nT = types.CodeType\n"),
    ("types.FunctionType", "import types\nf = types.FunctionType(c, {})\n"),
    ("import ctypes", "import ctypes\n"),
    ("import marshal", "import marshal\ncode = marshal.loads(blob)\n"),
    ("__builtins__", "__builtins__['len'] = max\n"),
    ("__getattribute__", "x = object.__getattribute__(obj, name)\n"),
    ("from sys import *", "from sys import *\n"),
    ("settrace", "from sys import *\nsettrace(f)\n"),
    # torch's dispatch modes switched off, whatever the module is called
    ("_disable_current_modes",
     "import torch\nwith torch.utils._python_dispatch._disable_current_modes():\n    pass\n"),
    ("_pop_mode", "from torch.utils._python_dispatch import _pop_mode\n"),
    ("import torch.utils._python_dispatch", "import torch.utils._python_dispatch as pd\n"),
    ("_pop_torch_dispatch_stack", "import torch\nm = torch._C._pop_torch_dispatch_stack()\n"),
    ("_set_torch_function_mode", "import torch\ntorch._C._set_torch_function_mode(None)\n"),
    # through an alias of the module or the function
    ("inspect.currentframe (as i.currentframe)", "import inspect as i\nf = i.currentframe()\n"),
    ("inspect.currentframe (as cf)", "from inspect import currentframe as cf\nf = cf()\n"),
    ("sys.settrace (as s.settrace)", "import sys\ns = sys\ns.settrace(f)\n"),
    ("inspect.stack (as getattr(inspect, 'stack'))",
     "import inspect\nst = getattr(inspect, 'stack')()\n"),
    ("inspect.stack (as sys.modules['inspect'].stack)",
     "import sys\nst = sys.modules['inspect'].stack()\n"),
    ("import ctypes (as importlib.import_module('ctypes'))",
     "import importlib\nc = importlib.import_module('ctypes')\n"),
    # exec, eval, compile, __import__ however reached
    ("exec()", "exec('x = 1')\n"),
    ("eval()", "y = eval('1 + 1')\n"),
    ("compile()", "c = compile('1', 'f', 'eval')\n"),
    ("__import__()", "m = __import__('sys')\n"),
    ("exec()", "run = exec\nrun('x = 1')\n"),
    ("builtins.exec", "import builtins\nbuiltins.exec('x = 1')\n"),
    ("builtins.compile", "import builtins\nc = builtins.compile('1', 'f', 'eval')\n"),
    ("builtins.eval (as b.eval)", "import builtins as b\nb.eval('1')\n"),
    ("builtins.exec (as run)", "from builtins import exec as run\n"),
    ("builtins.eval (as getattr(builtins, 'eval'))", "y = getattr(builtins, 'eval')('1')\n"),
    ("builtins.exec (as sys.modules['builtins'].exec)",
     "import sys\nsys.modules['builtins'].exec('x = 1')\n"),
    ("ns.exec()", "ns.exec('x = 1')\n"),
    # an attribute, a global or a module reached by a computed name
    ("getattr with a computed name", "import sys\ngetattr(sys, 'set' + 'profile')(f)\n"),
    ("getattr with a computed name", "import sys\nf = getattr(sys, '_get' + 'frame')(0)\n"),
    ("getattr with a computed name", "g = getattr(frame, 'f_' + 'globals')\n"),
    ("getattr with a computed name", "g = getattr(frame, f'f_{part}')\n"),
    ("getattr with a computed name", "g = getattr(frame, ''.join(['f_', 'glo', 'bals']))\n"),
    ("getattr with a computed name", "g = getattr(frame, b'f_globals'.decode())\n"),
    ("getattr with a computed name", "g = getattr(frame, chr(102) + '_globals')\n"),
    ("getattr with a computed name", "g = getattr(self, f'{n}_globals')\n"),
    ("getattr with a computed name", "g = getattr(self, f'__{n}')\n"),
    ("getattr with a computed name", "g = getattr(self, name)\n"),
    ("setattr with a computed name", "setattr(sys, name, f)\n"),
    ("hasattr with a computed name", "ok = hasattr(frame, name)\n"),
    ("delattr with a computed name", "delattr(module, name)\n"),
    ("builtins.getattr with a computed name", "f = builtins.getattr(sys, name)\n"),
    ("getattr as a value", "import functools\nget = functools.partial(getattr, sys)\n"),
    ("operator.attrgetter with a computed name",
     "import operator\nf = operator.attrgetter(name)(frame)\n"),
    ("methodcaller with a computed name",
     "from operator import methodcaller\nf = methodcaller(name)(sys, g)\n"),
    ("getattr_static", "import inspect\nf = inspect.getattr_static(fn, '__clo' + 'sure__')\n"),
    ("getattr_static", "from inspect import getattr_static as g\nf = g(fn, name)\n"),
    ("get_field", "import string\nf = string.Formatter().get_field(spec, (fn,), {})[0]\n"),
    ("operator.attrgetter('f_back.f_globals')",
     "import operator\ng = operator.attrgetter('f_back.f_globals')(frame)\n"),
    ("importlib.import_module with a computed name",
     "import importlib\nm = importlib.import_module('in' + 'spect')\n"),
    ("vars()[computed]", "x = vars(obj)[name]\n"),
    ("vars() as a value", "ns = vars(obj)\n"),
    ("__dict__[computed]", "x = obj.__dict__[name]\n"),
    ("__dict__ as a value", "import sys\nd = sys.__dict__\n"),
    ("__dict__.update", "module.__dict__.update(f=g)\n"),
    ("globals()[computed]", "x = globals()[name]\n"),
    ("globals()[...] =", "globals()['conv'] = f\n"),
    ("locals().items", "for k, v in locals().items():\n    pass\n"),
    # sys.modules written or handed on, under any name
    ("sys.modules[...] =", "import sys\nsys.modules['numpy'] = None\n"),
    ("sys.modules[...] =", "import sys as s\ndel s.modules['numpy']\n"),
    ("sys.modules.update", "import sys\nsys.modules.update(numpy=None)\n"),
    ("sys.modules as a value", "import sys\nm = sys.modules\nm[k] = v\n"),
    ("sys.modules[...] =", "import sys\nm = sys.modules\nm[k] = v\n"),
    ("sys.modules[computed]", "import sys\ng = vars(sys.modules[f.__module__])\n"),
    # a module's source found, read or loaded: the way to an edited copy of a reference
    ("__file__", "import cnnbook.numpy.conv as c\nsrc = open(c.__file__).read()\n"),
    ("inspect.getsource", "import inspect, cnnbook.numpy.conv as c\n"
                          "s = inspect.getsource(c)\n"),
    ("inspect.getsource (as gs)", "from inspect import getsource as gs\ns = gs(f)\n"),
    ("ast.unparse", "import ast\ntext = ast.unparse(tree)\n"),
    ("ast.NodeTransformer", "import ast\n\nclass T(ast.NodeTransformer):\n    pass\n"),
    ("runpy.run_path", "import runpy\nns = runpy.run_path('/tmp/conv.py')\n"),
    ("importlib.util.spec_from_file_location (as u.spec_from_file_location)",
     "import importlib.util as u\nspec = u.spec_from_file_location('c', path)\n"),
    ("a path into cnnbook's source", "text = open('/srv/course/src/cnnbook/numpy/conv.py')"
                                     ".read()\n"),
    ("a path into cnnbook's source", "root = '/work/repo/src/cnnbook'\n"),
]

HONEST = [
    "import numpy as np\n\ndef conv(x, w):\n    return np.einsum('nchw,fchw->nf', x, w)\n",
    "import sys\nprint(sys.version)\nassert 'numpy' in sys.modules\n",
    "import sys\nnp_mod = sys.modules['numpy']\nsys.path.insert(0, '.')\n",
    "import gc\ngc.collect()\n",
    "import torch\nimport torch.nn.functional as F\nmodel = torch.nn.Linear(2, 3)\n",
    "%timeit x = 1\n",
    "text = 'we could use exec here, or __code__'\n",
    # attributes named by literals, and names whose literal parts rule out the flagged ones
    "import numpy as np\nx = np.zeros(3, dtype=getattr(np, 'float32'))\n",
    "import torch.nn as nn\nact = getattr(nn, 'ReLU')()\nok = hasattr(act, 'inplace')\n",
    "import torch.nn as nn\n\nclass Block(nn.Module):\n    def __init__(self, c):\n"
    "        super().__init__()\n        for n in ('a', 'b'):\n"
    "            setattr(self, f'{n}_bn_weight', nn.Parameter(torch.ones(c)))\n\n"
    "    def forward(self, x, n):\n        return x * getattr(self, f'{n}_bn_weight')\n",
    "import operator\nweights = list(map(operator.attrgetter('weight'), layers))\n",
    "import importlib\nnp = importlib.import_module('numpy')\n",
    # eval and compile of other things than builtins
    "model.eval()\nnets['lenet'].eval()\nimport re\np = re.compile('[0-9]+')\n",
    "import torch\nfast = torch.compile(model)\ny = torch.stack([a, b])\n",
    "import numpy as np\ny = np.stack([a, b])\n",
    "if 'model' not in globals():\n    model = None\n",
    "for name, p in model.named_parameters():\n    print(name, p.shape)\n"
    "print(model.state_dict().keys())\n",
    "import ast\nshape = ast.literal_eval('(3, 32, 32)')\n",
    "import importlib\nm = importlib.import_module('cnnbook.numpy')\nprint('cnnbook')\n",
]


@pytest.mark.parametrize("what, src", FLAGGED, ids=[f"{w}: {s!r}"[:60] for w, s in FLAGGED])
def test_each_kind_of_introspection_is_flagged(what, src):
    found = review.scan([(7, src)])
    assert found and found[0][0] == 7, found
    assert what in found[0][1], found


@pytest.mark.parametrize("src", HONEST)
def test_honest_code_is_not_flagged(src):
    assert review.scan([(1, src)]) == []


#: Attacks on the guard that spell their introspection so that a literal match misses it
#: (tests/adversarial/guard_attacks/): the cell that does the introspection, and what the
#: scan says of it.
GUARD_ATTACKS = Path(__file__).resolve().parent / "adversarial" / "guard_attacks" / \
    "ps01_convolution"
ATTACK_FLAGS = {"a04_profchain": (1, "getattr with a computed name"),
                "a05_seal": (1, "getattr with a computed name"),
                "a06_cache": (1, "import marshal"),
                "a09_nomodes": (1, "_disable_current_modes")}


@pytest.mark.parametrize("attack", sorted(ATTACK_FLAGS))
def test_attacks_that_compute_their_names_are_flagged_in_their_cell(attack):
    sources = [src for _, src in cells(GUARD_ATTACKS / f"{attack}.py")]
    found = review.scan(list(enumerate(sources, 1)))
    cell, what = ATTACK_FLAGS[attack]
    assert [number for number, _ in found] == [cell], found
    assert what in found[0][1], found


def _code_cells(path):
    return review.notebook_cells(json.loads(path.read_text()))


@pytest.mark.parametrize("notebook", sorted(SOURCES.glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_the_instructors_notebooks_are_not_flagged(notebook):
    """Every code cell of the source notebooks: the solutions, the code given to the
    students and the tests, hidden ones included (the graded notebook holds them all)."""
    cells = _code_cells(notebook)
    assert any(json.loads(notebook.read_text())["cells"][n - 1]["metadata"]
               .get("nbgrader", {}).get("solution") for n, _ in cells)
    assert review.scan(cells) == []


@pytest.mark.parametrize("assignment, alternative",
                         [(a, alt) for a, alts in ALTERNATIVES.items() for alt in alts],
                         ids=lambda v: getattr(v, "name", v))
def test_correct_alternative_answers_are_not_flagged(assignment, alternative):
    cells = [alternative.source] + [src for _, src in alternative.also]
    assert review.scan(list(enumerate(cells, 1))) == []


def test_a_cell_that_does_not_parse_is_searched_by_word():
    found = review.scan([(2, "%time p = sys.getprofile()\nx = f.__globals__\n")])
    assert found and {"__globals__", "getprofile"} <= set(found[0][1])


@pytest.mark.parametrize("src, what", [
    ("%time getattr(sys, 'set' + 'profile')(f)\n", "getattr with a computed name"),
    ("%%time\nimport inspect as i\nf = i.currentframe()\n",
     "inspect.currentframe (as i.currentframe)"),
    ("!pip list\n%timeit -n 3 f()\nimport sys as s\ns.modules['numpy'] = None\n",
     "sys.modules[...] ="),
])
def test_a_cell_with_ipython_syntax_is_scanned_as_the_python_it_runs(src, what):
    found = review.scan([(3, src)])
    assert found and what in found[0][1], found


def test_the_findings_attacks_are_flagged():
    for attack in tampering.GUARDED:
        if attack.name.startswith(("guard_", "reference_laundered")):
            cells = [(i + 1, src) for i, src in enumerate(attack.answers.values())]
            assert review.notes(cells), attack.name


def _result(student, cells, score=1.0):
    nb = {"cells": [{"cell_type": "markdown", "source": "# ps"}]
          + [{"cell_type": "code", "source": src, "metadata": {}, "outputs": []} for src in cells],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    t = TestResult("test_a", "nb", score, 1.0, Status.PASSED if score else Status.FAILED)
    nbr = NotebookResult("nb", NotebookStatus.GRADED, tests=[t], autograded=nb)
    return SubmissionResult(student, "ps", notebooks=[nbr])


def test_a_flag_reaches_the_feedback_the_summary_and_the_class_report(tmp_path):
    sneaky = _result("sneaky", ["import sys\np = sys.getprofile()\n", "x = 1\n"])
    honest = _result("honest", ["x = 1\n"])
    for r in (sneaky, honest):
        outputs.flag_for_review(r)
        outputs.flag_for_review(r)  # once, however often it is asked
    assert sneaky.notes == ["uses sys.getprofile (cell 2): " + review.NOTE_END]
    assert honest.notes == []
    assert sneaky.score == 1.0  # no points taken
    page = feedback.feedback_html(sneaky)
    assert "uses sys.getprofile (cell 2)" in page and "review by hand" in page
    assert "review by hand" not in feedback.feedback_html(honest)

    class _Spec:
        name = "ps"
        notebooks = ()
    text = report.summary([sneaky, honest], _Spec(), 1.0, "1 worker")
    assert "FOR REVIEW BY HAND" in text and "sneaky (1 cell)" in text
    assert "honest" not in text.split("FOR REVIEW BY HAND")[1]
    rows = [outputs.jsonable(r) for r in (sneaky, honest)]
    records = class_report.records_from_rows(json.loads(json.dumps(rows)))
    page = class_report.report_html("ps", records, contracts={})
    section = page.split("<h2>For review by hand</h2>")[1]
    assert "sneaky" in section and "honest" not in section
    assert "uses sys.getprofile (cell 2)" in section


@pytest.mark.slow
def test_a_recorded_batch_flags_the_submission_in_every_output(tmp_path):
    """Through ``grade_assignment`` as an instructor runs it (the gradebook recorded, the
    graded notebooks let go as they are written): the flag is in the feedback page,
    results.json and the class report of the one student whose code introspects."""
    from adversarial import tinycourse as tc
    from autograder.grader import grade_assignment

    paths = tc.fresh(tmp_path)
    course = paths["course"]
    tc.submit(course, "honest", tc.submission(course))
    tc.submit(course, "sneaky", tc.submission(
        course, {"scale": "import sys\n_p = sys.getprofile()\n\ndef scale(x, a):\n"
                          "    return x * a\n"}))
    report_ = grade_assignment(tc.options(paths, tmp_path, workers=1))
    by = {r.student: r for r in report_.results}
    assert any("sys.getprofile" in n for n in by["sneaky"].notes), by["sneaky"].notes
    assert not any("review by hand" in n for n in by["honest"].notes)
    assert by["sneaky"].score == by["honest"].score  # no points taken
    reports = tmp_path / "reports"
    assert "review by hand" in (reports / "feedback" / "sneaky.html").read_text()
    assert "review by hand" not in (reports / "feedback" / "honest.html").read_text()
    section = (reports / "class-report.html").read_text().split("For review by hand")[1]
    assert "sneaky" in section and "honest" not in section
