"""Attacks on the notebook file: edited, deleted, retyped, duplicated cells, metadata, corrupt
files."""

import copy
import json

from . import Attack

ALL_TESTS = ("test_scale", "test_relu_forward", "test_relu_backward", "test_conv_output_size")
WRONG_SCALE = {"scale": "def scale(x, a):\n    return x\n"}


def _index(nb, gid):
    for i, cell in enumerate(nb["cells"]):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid:
            return i
    raise KeyError(gid)


def set_source(gid, source):
    def mutate(nb):
        nb["cells"][_index(nb, gid)]["source"] = source
    return mutate


def delete(gid):
    def mutate(nb):
        del nb["cells"][_index(nb, gid)]
    return mutate


def retype(gid, kind):
    def mutate(nb):
        cell = nb["cells"][_index(nb, gid)]
        cell["cell_type"] = kind
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
    return mutate


def duplicate(gid, points):
    def mutate(nb):
        i = _index(nb, gid)
        copy_ = copy.deepcopy(nb["cells"][i])
        copy_["metadata"]["nbgrader"]["points"] = points
        nb["cells"].insert(i + 1, copy_)  # same grade_id and same cell id
    return mutate


def set_points(gid, points):
    def mutate(nb):
        md = nb["cells"][_index(nb, gid)]["metadata"]["nbgrader"]
        md["points"] = points
        md["grade"] = False
    return mutate


def fake_test(nb):
    nb["cells"].append({"cell_type": "code", "execution_count": None, "outputs": [],
                        "id": "bonus", "source": "pass\n",
                        "metadata": {"nbgrader": {"grade": True, "grade_id": "test_bonus",
                                                  "points": 50, "solution": False,
                                                  "locked": True, "schema_version": 3}}})


def huge(nb):
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "huge",
                        "source": "x" * (2 << 20)})


ATTACKS = [
    Attack("edited_test_cell", "replaces test_scale's code with `pass`, wrong scale",
           answers=WRONG_SCALE, mutate=set_source("test_scale", "pass\n"),
           expect={"test_scale": False}, notes=("test_scale", "edited")),
    Attack("deleted_test_cell", "deletes test_relu_backward, wrong backward",
           answers={"relu": "def relu_forward(x):\n    return np.maximum(x, 0), x\n\n"
                            "def relu_backward(dout, cache):\n    return dout\n"},
           mutate=delete("test_relu_backward"),
           expect={"test_relu_backward": False}, notes=("test_relu_backward", "missing")),
    Attack("deleted_test_cell_honest", "deletes test_scale, correct scale",
           mutate=delete("test_scale"), notes=("test_scale", "missing")),
    Attack("retyped_test_cell", "turns test_scale into a markdown cell, wrong scale",
           answers=WRONG_SCALE, mutate=retype("test_scale", "markdown"),
           expect={"test_scale": False}, notes=("markdown",)),
    Attack("duplicated_cell_ids", "copies test_scale (same ids) with 100 points",
           mutate=duplicate("test_scale", 100), notes=("repeats",)),
    Attack("edited_points", "sets test_conv_output_size to 100 points and grade false",
           mutate=set_points("test_conv_output_size", 100), notes=("points",)),
    Attack("fake_grade_cell", "adds a cell claiming to be a 50-point test",
           mutate=fake_test, notes=("unknown cell",)),
    Attack("wrong_nbformat", "declares nbformat 99 (cells still readable)",
           mutate=lambda nb: nb.update(nbformat=99), notes=("nbformat",)),
    Attack("not_json", "the file is binary garbage", raw=b"\x00\xffnot a notebook" * 64,
           expect={t: False for t in ALL_TESTS}, notes=("not UTF-8",), status="unreadable"),
    Attack("missing_cells", "a JSON notebook without cells",
           raw=json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode(),
           expect={t: False for t in ALL_TESTS}, notes=("no list of cells",),
           status="unreadable"),
    Attack("huge_file", "a 2 MB notebook (the limit is 1 MB here)", mutate=huge,
           expect={t: False for t in ALL_TESTS}, notes=("over the",), status="unreadable"),
    Attack("lone_surrogates", "escapes \\ud800, \\udfff, \\udc80 (no character) in an answer and "
           "in a cell of its own: nothing may refuse to store them",
           answers={"scale": "def scale(x, a):\n    return x * a  # \ud800 \udfff\n"},
           after={"scale": ["s = '\udc80'\n"]}, notes=("lone surrogate",)),
    Attack("missing_notebook", "a submission folder without the notebook", missing=True,
           expect={t: False for t in ALL_TESTS}, status="missing"),
]
