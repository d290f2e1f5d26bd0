#!/usr/bin/env bash
# Installs what the report's browser test needs: Debian's headless-capable chromium (idempotent).
# Fonts come with it (fonts-liberation is a dependency); nothing is fetched at test time.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install_report_deps: chromium already installed ($(chromium --version 2>/dev/null || echo unknown version))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install_report_deps: installed $(chromium --version 2>/dev/null || echo chromium)"
