// cnnbook explorers in a static page (see cnnbook/explorers/component.py).
// Each <div data-explorer> carries every state its controls can reach, computed by
// cnnbook when the page was built. This script computes nothing: on every change it
// clamps the later controls into their ranges, looks the state up and draws it.
(function () {
  "use strict";
  if (window.cnnbookExplorers) { window.cnnbookExplorers.hydrateAll(); return; }

  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  // The same strings as mark_html and render_view in component.py.
  function markHtml(m, d) {
    var label = m.length > 5 ? esc(d.strings[m[5]]) : "";
    return '<b class="mk mk-' + d.kinds[m[4]] + '" style="--r:' + m[0] + ";--c:" + m[1] +
      ";--h:" + m[2] + ";--w:" + m[3] + '">' + label + "</b>";
  }

  function render(state, d) {
    var panels = state[1].map(function (slot) {
      return d.panels[slot[0]].replace("<!--m-->", slot[1].map(function (m) {
        return markHtml(m, d);
      }).join(""));
    }).join("");
    var text = state[0].map(function (i) { return d.strings[i]; }).join(" ");
    return '<div class="cx-panels">' + panels + '</div><p class="cx-text">' + esc(text) + "</p>";
  }

  function hydrate(root) {
    if (root.hasAttribute("data-explorer-ready")) return;
    var source = root.querySelector("script[data-explorer-states]");
    var output = root.querySelector("[data-explorer-output]");
    if (!source || !output) return;
    var d = JSON.parse(source.textContent);
    var inputs = d.controls.map(function (c) {
      return root.querySelector('[data-control="' + c.name + '"]');
    });

    function value(j) {
      return d.controls[j].kind === "range" ? parseInt(inputs[j].value, 10) : inputs[j].value;
    }

    function show(input) {
      var shown = input.parentNode.querySelector("output");
      if (shown) shown.textContent = input.value;
    }

    function update() {
      var values = [];
      for (var j = 0; j < inputs.length; j++) {
        var table = d.limits[String(j)];
        if (table) {
          var bounds = table[values.join("|")];
          var input = inputs[j];
          input.min = bounds[0];
          input.max = bounds[1];
          var v = Math.min(Math.max(parseInt(input.value, 10), bounds[0]), bounds[1]);
          input.value = String(v);
        }
        show(inputs[j]);
        values.push(value(j));
      }
      var state = d.states[values.join("|")];
      if (state) {
        output.innerHTML = render(state, d);
        root.removeAttribute("data-explorer-missing");
      } else {
        root.setAttribute("data-explorer-missing", values.join("|"));
      }
    }

    inputs.forEach(function (input) {
      input.addEventListener("input", update);
      input.addEventListener("change", update);
    });
    update();
    root.setAttribute("data-explorer-ready", "");
  }

  function hydrateAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-explorer]"), function (root) {
      try { hydrate(root); } catch (err) {
        root.setAttribute("data-explorer-error", String(err));
        if (window.console) console.error("cnnbook explorer", root.getAttribute("data-explorer"), err);
      }
    });
  }

  window.cnnbookExplorers = { hydrateAll: hydrateAll, render: render };
  hydrateAll();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", hydrateAll);
  }
})();
