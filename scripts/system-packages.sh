#!/usr/bin/env bash
# Install the Debian packages the platform needs when they are missing:
#   fonts-wqy-microhei — a CJK font with TrueType outlines: Chinese PDFs render ~7x faster
#                         than with Noto CJK's CFF outlines (see docs/pdf.md)
#   chromium           — only for the browser tests (pass "test")
# Safe to run again; does nothing when everything is there. Needs root for apt-get.
set -euo pipefail

want=()
fc-list 2>/dev/null | grep -qi "wqy-microhei" || want+=(fonts-wqy-microhei)
if [ "${1:-}" = "test" ]; then
  [ -x /usr/bin/chromium ] || want+=(chromium)
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
