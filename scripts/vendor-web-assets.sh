#!/usr/bin/env bash
# Vendors the browser assets of the built book into book/_vendor, so that no page loads
# anything from the internet:
#   mathjax/        MathJax 3 (tex-mml-chtml and the components/fonts it loads on demand)
#   requirejs/      require.js, the AMD loader the ipywidgets HTML manager needs
#   html-manager/   @jupyter-widgets/html-manager (renders the widget state saved in a page)
#   widgets-require-config.js  tells require.js where the HTML manager's modules live
# _config.yml publishes book/_vendor as _static/ (html_static_path) and points
# mathjax_path and nb_ipywidgets_js at these files.
#
# Versions come from package.json/package-lock.json and are installed with `npm ci`
# (the npm registry is only needed here, never by the built book).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null || { echo "npm is required (apt-get install -y npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

nm=node_modules
dest=book/_vendor
tmp=$(mktemp -d book/.vendor-tmp.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

# MathJax: the combined component named by mathjax_path, plus what it may load later
# (TeX extensions through autoload, the CHTML fonts, the context menu and accessibility
# parts). The SVG output and the other combined components are not used.
mj=$nm/mathjax/es5
mkdir -p "$tmp/mathjax/output"
cp "$mj/tex-mml-chtml.js" "$tmp/mathjax/"
cp -r "$mj/input" "$mj/a11y" "$mj/ui" "$mj/sre" "$mj/adaptors" "$tmp/mathjax/"
cp -r "$mj/output/chtml" "$mj/output/chtml.js" "$tmp/mathjax/output/"
cp "$nm/mathjax/LICENSE" "$nm/mathjax/package.json" "$tmp/mathjax/"

mkdir -p "$tmp/requirejs"
cp "$nm/requirejs/require.js" "$nm/requirejs/package.json" "$tmp/requirejs/"

# html-manager: the AMD bundle (it defines @jupyter-widgets/base, controls and the manager)
# and the icon fonts it references next to itself.
hm=$nm/@jupyter-widgets/html-manager
mkdir -p "$tmp/html-manager"
cp "$hm/dist/embed-amd.js" "$hm/dist/embed.js.LICENSE.txt" "$hm/package.json" "$tmp/html-manager/"
cp "$hm"/dist/*.woff2 "$hm"/dist/*.woff "$hm"/dist/*.ttf "$hm"/dist/*.eot "$hm"/dist/*.svg \
    "$tmp/html-manager/"

# The bundle names its modules; require.js maps a module name to a URL through `paths`.
# Without this, the manager's own modules would resolve next to the page and anything
# missing would fall back to a CDN. Webpack inside the bundle derives the font URLs from
# the same module URL, so mapping the names is enough for the icons too.
cat > "$tmp/widgets-require-config.js" <<'EOF'
// Load the ipywidgets HTML manager's modules, and the icon fonts they reference, from
// the vendored copy next to this file instead of a CDN.
(function () {
  var here = document.currentScript.src;
  var dir = here.slice(0, here.lastIndexOf("/") + 1) + "html-manager/";
  var bundle = dir + "embed-amd";
  window.__jupyter_widgets_assets_path__ = dir;
  window.require.config({
    paths: {
      "@jupyter-widgets/html-manager": bundle,
      "@jupyter-widgets/html-manager/dist/libembed-amd": bundle,
      "@jupyter-widgets/base": bundle,
      "@jupyter-widgets/base7": bundle,
      "@jupyter-widgets/controls": bundle,
      "@jupyter-widgets/controls7": bundle
    }
  });

  // Widget labels typeset LaTeX through the MathJax 2 API (MathJax.Hub.Queue); the book
  // loads MathJax 3, which has no Hub. Map the call onto MathJax 3 before the widgets
  // render (they render on the window's load event, after this listener).
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function (job) {
        var el = job && job[2];
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        return ready.then(function () {
          return mj.typesetPromise ? mj.typesetPromise(el ? [el] : undefined) : null;
        });
      }
    };
  });
})();
EOF

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
touch "$dest/.stamp"
echo "Vendored web assets into $dest ($(du -sh "$dest" | cut -f1))"
