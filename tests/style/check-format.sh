#!/bin/bash
# check-format.sh — every C source and header is formatted as .clang-format says.
# usage: check-format.sh SRCDIR        Prints TAP; skips without clang-format.
set -u
cd "$1" || exit 1
if ! command -v clang-format >/dev/null; then
  echo "1..0 # SKIP clang-format is not installed"
  exit 0
fi
mapfile -t files < <(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 2>/dev/null || find src tests -name '*.[ch]')
echo "1..${#files[@]}"
n=0 failed=0
for f in "${files[@]}"; do
  n=$((n + 1))
  if out=$(clang-format --dry-run --Werror "$f" 2>&1); then
    echo "ok $n - $f"
  else
    echo "not ok $n - $f is not formatted (clang-format -i $f)"
    echo "$out" | head -8 | sed 's/^/# /'
    failed=1
  fi
done
exit $failed
