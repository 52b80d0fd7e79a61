// Typesets TeX for the book build (book/_ext/katex_math.py). Reads one JSON request per
// line on stdin, {"tex": "...", "display": true|false}, and answers one JSON line on
// stdout: {"html": "..."} or {"error": "..."}. argv[2] is the path of katex.min.js.
"use strict";
const katex = require(process.argv[2]);
const readline = require("readline");

const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  let answer;
  try {
    const { tex, display } = JSON.parse(line);
    answer = {
      html: katex.renderToString(tex, {
        displayMode: Boolean(display),
        throwOnError: true,
        strict: "ignore",
        trust: false,
        output: "htmlAndMathml",
      }),
    };
  } catch (err) {
    answer = { error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
});
