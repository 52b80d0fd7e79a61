#!/usr/bin/env bash
# Installs Debian packages, only those missing. With no argument: everything the book build
# and the tests use (a real browser, the grader's sandbox, npm for the web assets). With
# package names: only those (`make grade` asks for bubblewrap alone).
set -euo pipefail
declare -A command_of=([chromium]=chromium [bubblewrap]=bwrap [npm]=npm)
wanted=("$@")
((${#wanted[@]})) || wanted=(chromium bubblewrap npm)
need=()
for pkg in "${wanted[@]}"; do
  cmd=${command_of[$pkg]:-}
  if [[ -z $cmd ]]; then
    echo "install-system.sh: unknown package '$pkg' (known: ${!command_of[*]})" >&2
    exit 2
  fi
  command -v "$cmd" >/dev/null || need+=("$pkg")
done
((${#need[@]})) || exit 0
echo "Installing Debian packages: ${need[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
