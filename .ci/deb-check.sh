#!/usr/bin/env bash
# deb-check.sh — builds the Debian package from a clean copy of the tree, as
# `dpkg-buildpackage -us -uc -b` would from a fresh checkout, and checks with `dpkg -c`
# that it ships the binary, the units, the quadlet example, the man pages, the
# translations, the journal catalog and the bash completion. Then it runs the
# packaged binary, and (where the ko_KR.UTF-8 locale can be had) checks that the
# packaged Korean catalog is used.
#
# usage: .ci/deb-check.sh [OUTDIR]     OUTDIR keeps the .deb (default: a temporary dir)
# Installs what the build needs (dpkg-dev, debhelper and the Build-Depends) with apt-get
# when it runs as root. Exits non-zero when the build or a check fails.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sdvisor-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
out=${1:-$work/out}
mkdir -p "$out"

apt_install() {
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "deb-check: missing packages (run as root to install them): $*" >&2
    return 1
  fi
  echo "deb-check: installing $*" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

missing=()
for pkg in dpkg-dev debhelper build-essential; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
apt_install "${missing[@]}"

# A clean copy: the working tree without .git and without any build directory in it.
tree=$work/sdvisor
mkdir -p "$tree"
excludes=(--exclude=./.git --exclude='./obj-*' --exclude=./debian/.debhelper --exclude=./debian/sdvisor
          --exclude=./debian/tmp --exclude=./debian/files --exclude='./debian/*.substvars'
          --exclude=./debian/debhelper-build-stamp --exclude='*/__pycache__')
for d in "$src"/*/; do
  if [ -e "$d/build.ninja" ] || [ -d "$d/meson-private" ]; then
    excludes+=(--exclude="./$(basename "$d")")
  fi
done
tar -C "$src" "${excludes[@]}" -cf - . | tar -C "$tree" -xf -

# The Build-Depends of debian/control that are not installed yet.
cd "$tree"
unmet=$(dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' || true)
if [ -n "$unmet" ]; then
  # "meson (>= 1.0) pkg-config | pkgconf" → "meson pkg-config"
  pkgs=$(echo "$unmet" | sed -e 's/([^)]*)//g' -e 's/<[^>]*>//g' -e 's/\[[^]]*\]//g' -e 's/|[[:space:]]*[^[:space:]]*//g')
  # shellcheck disable=SC2086
  apt_install $pkgs
fi

# The copy as a git repository of its own (.gitignore included), so that what the
# build leaves behind can be told from what the project ignores.
git_copy() { git -C "$tree" -c user.name=deb-check -c user.email=deb-check@localhost "$@"; }
have_git=0
if command -v git >/dev/null && git_copy init -q && git_copy add -A && git_copy commit -qm copy; then
  have_git=1
fi

start=$(date +%s)
if ! dpkg-buildpackage -us -uc -b > "$work/build.log" 2>&1; then
  tail -n 80 "$work/build.log" >&2
  echo "deb-check: dpkg-buildpackage failed (log above)" >&2
  exit 1
fi
elapsed=$(( $(date +%s) - start ))
deb=$(ls "$work"/sdvisor_*.deb)
cp "$deb" "$out/"
echo "deb-check: built $(basename "$deb") in ${elapsed}s"

n=0 failed=0
result() {
  n=$((n + 1))
  if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# `dpkg-buildpackage` in a checkout (docs/guide.md) must leave `git status` clean: its
# build directory and debhelper's files are in .gitignore, and nothing tracked changes.
if [ $have_git -eq 1 ]; then
  left=$(git_copy status --porcelain --untracked-files=all)
  [ -z "$left" ]
  result $? "the build leaves no untracked or changed file in the checkout"
  [ -n "$left" ] && sed 's/^/# left: /' <<< "$left"
else
  echo "ok $((n += 1)) # SKIP no git to tell what the build left in the checkout"
fi

contents=$(dpkg -c "$deb" | awk '{print $6}')
# ships WHAT REGEX: some file of the package matches REGEX (a path from ./).
ships() {
  local what=$1 re=$2
  grep -Eq "^\./${re}\$" <<< "$contents"
  result $? "the package ships $what (${re})"
}
ships "the binary" 'usr/bin/sdvisor'
ships "the template unit" '(usr/)?lib/systemd/system/sdvisor@\.service'
ships "the example unit" 'usr/share/doc/sdvisor/examples/gunicorn-app\.service'
ships "the quadlet example" 'usr/share/containers/systemd/[^/]+\.container'
ships "sdvisor(1)" 'usr/share/man/man1/sdvisor\.1\.gz'
ships "sdvisor.conf(5)" 'usr/share/man/man5/sdvisor\.conf\.5\.gz'
ships "the Korean translation" 'usr/share/locale/ko/LC_MESSAGES/sdvisor\.mo'
ships "the journal catalog" 'usr/lib/systemd/catalog/sdvisor\.catalog'
ships "the bash completion" 'usr/share/bash-completion/completions/sdvisor'
ships "the configuration directory" 'etc/sdvisor/'
ships "the guide" 'usr/share/doc/sdvisor/guide\.md(\.gz)?'

nothing_else=$(grep -Ev '^\./(usr/bin/sdvisor|(usr/)?lib/systemd/(system|catalog)/.*|usr/share/(doc|man|locale|bash-completion|containers)/.*|etc/sdvisor/|([a-z]+/)*)$' <<< "$contents" || true)
[ -z "$nothing_else" ]
result $? "the package ships nothing unexpected"
[ -n "$nothing_else" ] && sed 's/^/# unexpected: /' <<< "$nothing_else"

depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libsystemd0' <<< "$depends" && grep -q 'libglib2.0-0' <<< "$depends" && grep -q 'libsoup-3.0-0' <<< "$depends"
result $? "Depends names the shared libraries (${depends})"

x=$work/extracted
dpkg -x "$deb" "$x"
version=$("$x/usr/bin/sdvisor" --version 2>&1 || true)
want=$(dpkg-deb -f "$deb" Version)
[ "$version" = "sdvisor $want" ]
result $? "the packaged binary runs: '$version' (package version $want)"

if command -v man >/dev/null; then
  err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$x/usr/share/man/man5/sdvisor.conf.5.gz" 2>&1 >/dev/null)
  [ -z "$err" ]
  result $? "the packaged sdvisor.conf(5) renders without warnings"
fi

# The packaged catalog, through the same test the build runs on its own catalog.
l10n=$(python3 "$src/tests/docs/check-l10n.py" "$x/usr/bin/sdvisor" "$x/usr/share/locale" "$src" 2>&1) && rc=0 || rc=$?
if grep -q '^1\.\.0 # SKIP' <<< "$l10n"; then
  echo "ok $((n += 1)) # SKIP Korean: $(sed -n 's/^1\.\.0 # SKIP //p' <<< "$l10n")"
else
  result $rc "LANG=ko_KR.UTF-8: the packaged binary prints Korean from the packaged catalog"
  [ $rc -ne 0 ] && grep -E '^(not ok|#)' <<< "$l10n" | sed 's/^/# /'
fi

echo "1..$n"
if [ $failed -ne 0 ]; then
  echo "deb-check: FAILED; package contents:" >&2
  dpkg -c "$deb" >&2
  exit 1
fi
echo "deb-check: the package is complete ($n checks)"
