"""cnnbook.explorers.component: controls, settings, the page element, and the page's script.

The script (explorer.js) is run under node on every state of every explorer of the book,
and must produce exactly the HTML that Python renders for that setting.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from cnnbook import explorers
from cnnbook.explorers.component import (
    MARK_SLOT, Choice, Explorer, Mark, Panel, Range, View, asset, read_output, render_view,
)
from cnnbook.explorers.panels import Box, Scale, boxes, grid


def toy(**initial):
    """Two controls, the second's range depending on the first; views name the setting."""
    def view(n, mode):
        panel = grid(np.arange(n).reshape(1, n), title=f"{n} cells")
        return View(panels=((panel, (Mark(0, n - 1, 1, 1, "cell"),)),), text=(f"{mode} {n}.",))

    return Explorer("toy", "A toy", (Range("size", "size", 1, 4),
                                     Choice("mode", "mode", ("a", "b")),
                                     Range("n", "n", 1, lambda v: v["size"])),
                    lambda size, mode, n: view(n, mode), initial=initial)


# ---------------------------------------------------------------------------
# Controls and settings
# ---------------------------------------------------------------------------

def test_settings_enumerate_every_reachable_combination():
    ex = toy()
    settings = list(ex.settings())
    expected = [{"size": s, "mode": m, "n": n} for s in range(1, 5) for m in "ab"
                for n in range(1, s + 1)]
    assert settings == expected


def test_normalise_clamps_in_control_order_and_fills_defaults():
    ex = toy()
    assert ex.normalise({}) == {"size": 1, "mode": "a", "n": 1}
    assert ex.normalise({"size": 2, "n": 4}) == {"size": 2, "mode": "a", "n": 2}
    assert ex.normalise({"size": 9, "mode": "b", "n": 3}) == {"size": 4, "mode": "b", "n": 3}
    assert ex.normalise({"size": -3, "n": 0}) == {"size": 1, "mode": "a", "n": 1}
    with pytest.raises(ValueError, match=r"mode must be one of \('a', 'b'\); got 'c'"):
        ex.normalise({"mode": "c"})
    with pytest.raises(TypeError, match=r"size must be an int; got 2.5 of type float"):
        ex.normalise({"size": 2.5})
    with pytest.raises(ValueError, match=r"values name controls that do not exist: \['m'\]"):
        ex.normalise({"m": 1})


def test_initial_setting_is_normalised():
    assert toy(size=3, n=9, mode="b").initial == {"size": 3, "mode": "b", "n": 3}


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(name="Bad Name"), ValueError, "name must be lower case"),
    (dict(controls=()), ValueError, "controls must name at least one"),
    (dict(controls=(Range("a", "a", 0, 1), Range("a", "b", 0, 1))), ValueError,
     "control names must be unique"),
    (dict(initial={"zz": 1}), ValueError, r"values name controls that do not exist: \['zz'\]"),
])
def test_explorer_refuses_bad_definitions(kwargs, error, match):
    args = dict(name="ok", title="t", controls=(Range("a", "a", 0, 1),),
                view=lambda a: View(panels=()))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        Explorer(**args)


def test_range_with_an_empty_domain_is_an_error():
    r = Range("n", "n", 3, lambda v: v["m"])
    with pytest.raises(ValueError, match=r"control 'n' has an empty range \[3, 1\]"):
        r.bounds({"m": 1})


# ---------------------------------------------------------------------------
# Marks, panels, views
# ---------------------------------------------------------------------------

def test_mark_html_prints_numbers_as_javascript_does():
    m = Mark(np.int64(2), 1.0, 0.5, 3, "shade", "K<1>")
    assert (m.row, m.col, m.h, m.w) == (2, 1, 0.5, 3)
    assert m.html() == ('<b class="mk mk-shade" style="--r:2;--c:1;--h:0.5;--w:3">'
                        'K&lt;1&gt;</b>')
    with pytest.raises(TypeError, match=r"Mark.row must be a number; got 'a'"):
        Mark("a", 0)
    with pytest.raises(ValueError, match="a mark must have a positive size; got h=0"):
        Mark(0, 0, 0, 1)


def test_panel_needs_exactly_one_mark_slot_and_view_checks_its_parts():
    with pytest.raises(ValueError, match="found it 0 times"):
        Panel("<figure></figure>")
    with pytest.raises(TypeError, match=r"View.panels must hold \(Panel, marks\) pairs"):
        View(panels=("x",))
    with pytest.raises(TypeError, match="View.text must be a sequence of sentences"):
        View(panels=(), text="one string")


def test_grid_cells_numbers_padding_and_colours():
    a = np.array([[-2.0, 0.0, 1.5], [np.nan, 4.0, 12345.0]])
    pad = np.array([[False, False, False], [True, False, False]])
    html = grid(a, title="t", pad=pad, pad_text="−∞").html
    assert html.count(MARK_SLOT) == 1
    got = read_output(f'<div class="cx-panels">{html}</div>')["panels"][0]
    assert got["title"] == "t" and (got["rows"], got["cols"]) == (2, 3)
    assert got["cells"] == [["−2", "0", "1.50"], ["−∞", "4", "12345"]]
    assert 'class="cx-grid wide"' in html  # five characters: wider cells
    # signed values: a diverging scale centred at zero, so 0 gets the map's middle colour
    import matplotlib as mpl

    middle = mpl.colors.to_hex(mpl.colormaps[Scale.diverging([1]).cmap](0.5))
    assert f'style="background:{middle}">0</i>' in html


def test_scales():
    d = Scale.diverging([-1, 3])
    assert (d.lo, d.hi) == (-3.0, 3.0)
    (neg, _), (zero, _), (pos, _) = d.colours([-3, 0, 3])
    r, g, b = (int(zero[i:i + 2], 16) for i in (1, 3, 5))
    assert min(r, g, b) > 235 and neg != pos  # zero is (nearly) white, the ends differ
    s = Scale.sequential([2, 5], "Blues")
    assert (s.lo, s.hi) == (2.0, 5.0)
    (light, dark_text_light), (deep, dark) = s.colours([2, 5])
    assert not dark_text_light and dark
    assert Scale.for_values([0, 1]).cmap == "Blues"
    assert Scale.for_values([0, -1]).cmap == Scale.diverging([1]).cmap


def test_boxes_panel_and_bad_kinds():
    p = boxes([Box(0, 1.5, 1, 2, "real"), Box(1, 0, 1, 3, "lbl", "conv1")], 2, 6, title="b")
    got = read_output(f'<div class="cx-panels">{p.html}</div>')["panels"][0]
    assert got["boxes"] == [("real", 0, 1.5, 1, 2, ""), ("lbl", 1, 0, 1, 3, "conv1")]
    with pytest.raises(ValueError, match="a box's kind must be 'real', 'pad' or 'lbl'; got 'x'"):
        boxes([Box(0, 0, kind="x")], 1, 1, title="b")
    with pytest.raises(ValueError, match=r"size must be one of \(None, 'small', 'wide'\)"):
        grid(np.zeros((1, 1)), title="g", size="huge")


def test_render_view_and_read_output_round_trip():
    ex = toy(size=3, n=2, mode="b")
    html = ex.state_html()
    assert html.startswith('<div class="cx-panels">') and html.endswith("</p>")
    got = read_output(html)
    assert got["text"] == "b 2."
    assert got["panels"][0]["cells"] == [["0", "1"]]
    assert got["panels"][0]["marks"] == [("cell", 0, 1, 1, 1, "")]
    assert (ex.state_html({"size": 4, "n": 4, "mode": "a"})
            == render_view(ex.view(size=4, mode="a", n=4)))


# ---------------------------------------------------------------------------
# The page element
# ---------------------------------------------------------------------------

def test_html_element_has_native_controls_output_and_every_state():
    ex = toy(size=2, n=2)
    page = ex.html()
    assert page.startswith('<div class="cnnbook-explorer" data-explorer="toy">')
    assert ('<input type="range" name="toy-size" data-control="size" min="1" max="4" step="1" '
            'value="2"><output>2</output>') in page
    assert ('<input type="range" name="toy-n" data-control="n" min="1" max="2" step="1" '
            'value="2">') in page
    assert ('<select name="toy-mode" data-control="mode"><option value="a" selected>a</option>'
            in page)
    output = re.search(r"<div class=\"cx-output\" data-explorer-output[^>]*>(.*?)</div>"
                       r"<script type=\"application/json\"", page, re.S).group(1)
    assert output == ex.state_html()
    data = json.loads(re.search(r"data-explorer-states>(.*?)</script>", page, re.S).group(1))
    assert len(data["states"]) == len(list(ex.settings())) == 20
    assert data["limits"]["2"] == {"1|a": [1, 1], "1|b": [1, 1], "2|a": [1, 2], "2|b": [1, 2],
                                   "3|a": [1, 3], "3|b": [1, 3], "4|a": [1, 4], "4|b": [1, 4]}
    assert page.endswith(f"<script>{asset('explorer.js')}</script>")
    bundle = ex._repr_mimebundle_()
    assert bundle["text/html"] == page and bundle["text/plain"].startswith("<explorer toy: a 2.")


def test_state_data_cannot_close_its_script_element():
    def view(a):
        panel = Panel(f"<figure>{MARK_SLOT}</figure>")
        return View(panels=((panel, ()),), text=("</script><script>alert(1)</script>",))

    page = Explorer("x", "x", (Range("a", "a", 0, 0),), view).html()
    data = re.search(r"data-explorer-states>(.*?)</script></div>", page, re.S).group(1)
    assert "</script" not in data and "<!--" not in data
    assert "</script><script>alert(1)" in json.loads(data)["strings"][0]


def test_asset_names_are_checked():
    with pytest.raises(ValueError, match="name must be 'explorer.js' or 'explorer.css'"):
        asset("../setup.py")


# ---------------------------------------------------------------------------
# The page's script equals Python, state by state (node)
# ---------------------------------------------------------------------------

NODE_RENDER = """
const fs = require("fs");
global.window = {}; global.document = {querySelectorAll: () => [], readyState: "complete"};
eval(fs.readFileSync(process.argv[2], "utf8"));
const d = JSON.parse(fs.readFileSync(0, "utf8"));
const out = {};
for (const key of Object.keys(d.states)) {
  out[key] = window.cnnbookExplorers.render(d.states[key], d);
}
process.stdout.write(JSON.stringify(out));
"""


def render_with_node(explorer, tmp_path) -> dict:
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is needed (apt-get install -y nodejs; `make system` installs npm and node)"
    script = tmp_path / "explorer.js"
    script.write_text(asset("explorer.js"))
    runner = tmp_path / "render.js"
    runner.write_text(NODE_RENDER)
    proc = subprocess.run([node, str(runner), str(script)], input=json.dumps(explorer.payload()),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(explorers.REGISTRY))
def test_script_draws_every_state_exactly_as_python_renders_it(name, tmp_path):
    ex = explorers.build(name)
    drawn = render_with_node(ex, tmp_path)
    settings = list(ex.settings())
    assert len(drawn) == len(settings) > 10
    for values in settings:
        key = "|".join(str(v) for v in values.values())
        assert drawn[key] == ex.state_html(values), f"{name} {values}"


def test_script_draws_the_toy_explorer(tmp_path):
    ex = toy()
    drawn = render_with_node(ex, tmp_path)
    assert drawn == {"|".join(map(str, v.values())): ex.state_html(v) for v in ex.settings()}


# ---------------------------------------------------------------------------
# The registry and the same explorer on ipywidgets
# ---------------------------------------------------------------------------

def test_registry_builds_each_explorer_under_its_name():
    for name in explorers.REGISTRY:
        ex = explorers.build(name)
        assert ex.name == name and ex.title
        assert f'data-explorer="{name}"' in ex.html()
    with pytest.raises(ValueError, match=r"name must be one of \["):
        explorers.build("nope")


def test_live_explorer_recomputes_and_clamps_like_the_page():
    from cnnbook.widgets import live

    ex = toy(size=3, n=3)
    w = live(ex)
    assert w.values == {"size": 3, "mode": "a", "n": 3}
    assert read_output(re.search(r'<div class="cx-output">(.*)</div></div>$',
                                 w.output.value, re.S).group(1))["text"] == "a 3."
    w.controls["size"].value = 2          # n must come back into range, as in the page
    assert w.controls["n"].max == 2 and w.controls["n"].value == 2
    assert w.values == {"size": 2, "mode": "a", "n": 2}
    assert "a 2." in w.output.value
    w.set(size=4, mode="b", n=4)
    assert (w.controls["n"].max, w.controls["n"].value, w.controls["mode"].value) == (4, 4, "b")
    assert w.view.description == "b 4."
    assert ex.widget().values == ex.initial
    with pytest.raises(TypeError, match="explorer must be a cnnbook Explorer; got int"):
        live.__globals__["LiveExplorer"](3)
