#!/bin/bash
# test-completion.sh — the bash completion completes what sdvisor(1) has: commands,
# each command's options, configuration files, unit files, job names, and the command
# after `run --`. It drives the completion function as bash does on TAB (COMP_WORDS,
# COMP_CWORD) under bash-completion's own helpers.
#
# usage: test-completion.sh COMPLETION_SCRIPT MAIN_C          Prints TAP.
set -u
script=$1 main_c=$2
bc=/usr/share/bash-completion/bash_completion
if [ ! -r "$bc" ]; then
  echo "1..0 # SKIP bash-completion is not installed (apt-get install bash-completion)"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/dir/sub"
: > "$tmp/dir/web.conf"
: > "$tmp/dir/notes.txt"
: > "$tmp/dir/web.service"
: > "$tmp/dir/web.container"
cat > "$tmp/dir/jobs.conf" <<'CONF'
[app]
exec=/bin/true
[job:cleanup]
schedule=@daily
exec=/bin/true
[hook:migrate]
when=pre-start
exec=/bin/true
[job:send-report]
schedule=0 9 * * MON
exec=/bin/true
CONF

# complete LINE: what TAB at the end of LINE offers, sorted, one per line.
cat > "$tmp/run.sh" <<EOF
. "$bc"
. "$script"
cd "$tmp/dir"
complete_line() {
  local line=\$1
  COMP_LINE=\$line
  COMP_POINT=\${#line}
  read -r -a COMP_WORDS <<< "\$line"
  [[ \$line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=\$((\${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _sdvisor sdvisor "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "\${COMPREPLY[@]}" | sort
}
complete_line "\$1"
EOF

n=0 failed=0
# expect LINE WORD…: TAB after LINE offers exactly WORD… (in any order).
expect() {
  local line=$1; shift
  local got want
  # Configuration files of this machine's /etc/sdvisor are offered too: not ours to know.
  got=$(bash "$tmp/run.sh" "$line" 2>&1 | sed -e '/^$/d' -e '\|^/etc/sdvisor/|d')
  want=$(printf '%s\n' "$@" | sed '/^$/d' | sort)
  n=$((n + 1))
  if [ "$got" = "$want" ]; then
    echo "ok $n - '$line<TAB>' offers: $(echo $want)"
  else
    echo "not ok $n - '$line<TAB>' offers: $(echo $want)"
    echo "$got" | sed 's/^/# got: /'
    failed=1
  fi
}
# includes LINE WORD…: TAB after LINE offers at least WORD….
includes() {
  local line=$1; shift
  local got missing=()
  got=$(bash "$tmp/run.sh" "$line" 2>&1)
  for w in "$@"; do grep -qxF -- "$w" <<< "$got" || missing+=("$w"); done
  n=$((n + 1))
  if [ ${#missing[@]} -eq 0 ]; then
    echo "ok $n - '$line<TAB>' offers $*"
  else
    echo "not ok $n - '$line<TAB>' offers $*"
    echo "# missing: ${missing[*]}"
    failed=1
  fi
}

# Every command of main.c's table is offered.
commands=$(sed -n '/^static const SvCommand commands\[\]/,/^};/p' "$main_c" | sed -n 's/^ *{"\([a-z-]*\)",.*/\1/p')
# shellcheck disable=SC2086
includes "sdvisor " $commands --help --version
expect "sdvisor pr" print-unit print-quadlet
expect "sdvisor --v" --version
expect "sdvisor check --" --config --unit --user --help
expect "sdvisor print-quadlet --" --config --image --container-config --help
expect "sdvisor run --c" --config
expect "sdvisor check --config " jobs.conf sub web.conf
expect "sdvisor check " jobs.conf sub web.conf
expect "sdvisor check --config=w" web.conf
expect "sdvisor check web.conf --unit " sub web.container web.service
expect "sdvisor jobs --config jobs.conf " cleanup send-report
expect "sdvisor jobs --" --config --state-directory --help
expect "sdvisor jobs --state-directory " sub
expect "sdvisor jobs --config jobs.conf s" send-report
expect "sdvisor jobs --config=jobs.conf " cleanup send-report
expect "sdvisor status --" --config --help --json --socket
expect "sdvisor reload --" --config --help --socket
expect "sdvisor run-job --" --config --help --socket --wait
expect "sdvisor run-job --config jobs.conf " cleanup send-report
expect "sdvisor run-job --config=jobs.conf s" send-report
expect "sdvisor run-job --config jobs.conf cleanup " ""
includes "sdvisor run -- basen" basename
expect "sdvisor run -- ls --vers" --version
echo "1..$n"
exit $failed
