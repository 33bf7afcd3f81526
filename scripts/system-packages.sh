#!/usr/bin/env bash
# Install the Debian packages the platform needs when they are missing:
#   fonts-wqy-microhei  — the CJK font of the PDFs (5x smaller files than Noto CJK, docs/pdf.md)
#   libharfbuzz-subset0 — fast font subsetting for WeasyPrint
#   chromium           — only for the browser tests (pass "test")
# Safe to run again; does nothing when everything is there. Needs root for apt-get.
set -euo pipefail
# (grep without -q below: with pipefail, -q would make the producer die of SIGPIPE)

want=()
fc-list 2>/dev/null | grep -i "wqy-microhei" >/dev/null || want+=(fonts-wqy-microhei)
# WeasyPrint subsets fonts with HarfBuzz when this library is there, and falls back to
# fontTools (2.6x to 9x slower per PDF) when it is not — see docs/pdf.md.
ldconfig -p 2>/dev/null | grep "libharfbuzz-subset.so" >/dev/null || want+=(libharfbuzz-subset0)
if [ "${1:-}" = "test" ]; then
  [ -x /usr/bin/chromium ] || want+=(chromium)
  # Chinese date pickers and file buttons in the browser tests' screenshots, as users see them
  [ -d /usr/lib/chromium/locales ] && ls /usr/lib/chromium/locales | grep "zh-CN" >/dev/null || want+=(chromium-l10n)
fi
[ ${#want[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "需要安装系统软件包 / missing system packages: ${want[*]} (run as root: apt-get install ${want[*]})" >&2
    exit 1
  fi
else
  SUDO=
fi
echo "installing system packages / 安装系统软件包: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
