#!/usr/bin/env bash
# Vendors the browser assets of the built book into book/_vendor, so that no page loads
# anything from the internet and every page stays light:
#   katex/        KaTeX: katex.min.js typesets every formula while the book is built
#                 (book/_ext/katex_math.py runs it under node); pages load only
#                 katex.min.css and the fonts a formula uses
#   icons.css     the few Font Awesome icons the theme shows, as CSS masks; it replaces
#                 the theme's fontawesome.js (1.5 MB, see book/_templates/static/)
# _config.yml publishes book/_vendor as _static/ (html_static_path).
#
# Versions come from package.json/package-lock.json and are installed with `npm ci`
# (the npm registry is only needed here, never by the built book).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v npm >/dev/null || { echo "npm is required (apt-get install -y npm)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is required (apt-get install -y nodejs)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

nm=node_modules
dest=book/_vendor
tmp=$(mktemp -d book/.vendor-tmp.XXXXXX)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/katex"
cp "$nm/katex/dist/katex.min.js" "$nm/katex/dist/katex.min.css" "$nm/katex/LICENSE" \
   "$nm/katex/package.json" "$tmp/katex/"
cp -r "$nm/katex/dist/fonts" "$tmp/katex/"

# The icons the theme's templates and scripts name (fa-*), as CSS masks drawn in the
# text colour. Font Awesome Free: icons CC BY 4.0 (https://fontawesome.com/license/free).
icons="angle-left angle-right arrow-up bars circle-half-stroke code compress download
expand file file-lines file-pdf home=house lightbulb list magnifying-glass moon outdent pencil
play rocket sun xmark"
node - "$nm/@fortawesome/fontawesome-free/svgs/solid" $icons > "$tmp/icons.css" <<'EOF'
const fs = require("fs");
const [dir, ...names] = process.argv.slice(2);
const out = [
  "/* Font Awesome Free 6.5.2 icons (CC BY 4.0, https://fontawesome.com/license/free),",
  "   drawn as CSS masks in the current text colour instead of by fontawesome.js. */",
  ".fa-solid,.fa-regular,.fas,.far{display:inline-block;width:1em;height:1em;" +
    "vertical-align:-.125em;background-color:currentColor;" +
    "-webkit-mask:var(--fa) no-repeat center/contain;mask:var(--fa) no-repeat center/contain}",
  ".fa-lg{font-size:1.25em;vertical-align:-.2em}",
  // The theme's stylesheet would also draw each icon as a glyph of its 156 kB web font.
  ".fa-solid::before,.fa-regular::before,.fas::before,.far::before{content:none!important}",
];
for (const entry of names) {  // "class=file" when the class is an older alias
  const [name, file = name] = entry.split("=");
  const svg = fs.readFileSync(`${dir}/${file}.svg`, "utf8").replace(/<!--.*?-->/gs, "").trim();
  out.push(`.fa-${name}{--fa:url("data:image/svg+xml,${encodeURIComponent(svg)}")}`);
}
process.stdout.write(out.join("\n") + "\n");
EOF

rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
touch "$dest/.stamp"
echo "Vendored web assets into $dest ($(du -sh "$dest" | cut -f1))"
