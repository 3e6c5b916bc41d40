# container-common.sh — how every script the benchmark container runs begins (sourced by
# in-container.sh and replace-in-container.sh; lib.sh's container_run boots into them):
# the host script's settings from /results/bench.env, /results/started written, the
# progress (set -x) to /results/driver.log, results as KEY=VALUE lines through `out`.
set -u
R=/results
. "$R/bench.env"
: > "$R/started"
exec > "$R/driver.log" 2>&1
out() { echo "$1=$2" >> "$R/results.env"; }
export LC_ALL=C.UTF-8 PYTHONDONTWRITEBYTECODE=1
# awk is an alternatives link through /etc, which --volatile=yes leaves empty.
awk() { if [ -x /usr/bin/mawk ]; then /usr/bin/mawk "$@"; else /usr/bin/gawk "$@"; fi; }
set -x
mkdir -p /run/bench /etc/sdvisor
