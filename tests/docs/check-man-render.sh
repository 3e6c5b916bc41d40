#!/bin/bash
# check-man-render.sh — the generated man pages render without a troff warning, and
# each has the sections a reader looks for.
#
# usage: check-man-render.sh PAGE…          Prints TAP.
set -u
if [ $# -eq 0 ]; then
  # man/meson.build requires scdoc and always builds the pages: none is a broken build.
  echo "Bail out! no man page given (man/meson.build builds them with scdoc)"
  exit 1
fi
if ! command -v man >/dev/null; then
  echo "1..0 # SKIP man is not installed (apt-get install man-db)"
  exit 0
fi
n=0 failed=0
result() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
for page in "$@"; do
  name=$(basename "$page")
  err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  [ -z "$err" ]
  result $? "$name renders without warnings"
  [ -n "$err" ] && echo "$err" | sed 's/^/# /'
  text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -E UTF-8 -l "$page" 2>/dev/null)
  missing=()
  for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
    grep -qx "$section" <<< "$text" || missing+=("$section")
  done
  case $name in
    *.1) for section in COMMANDS OPTIONS "EXIT STATUS" SIGNALS ENVIRONMENT; do
           grep -qx "$section" <<< "$text" || missing+=("$section")
         done ;;
    *.5) for section in "ENVIRONMENT OVERRIDES" RELOAD EXAMPLES; do
           grep -qx "$section" <<< "$text" || missing+=("$section")
         done ;;
  esac
  [ ${#missing[@]} -eq 0 ]
  result $? "$name has its sections"
  [ ${#missing[@]} -gt 0 ] && echo "# missing: ${missing[*]}"
done
echo "1..$n"
exit $failed
