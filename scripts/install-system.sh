#!/usr/bin/env bash
# Installs the Debian packages that the book build and the tests use, only when missing.
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v npm >/dev/null || need+=(npm)
((${#need[@]})) || exit 0
echo "Installing Debian packages: ${need[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
