#!/usr/bin/env bash
# What the dashboard costs: training images/s of the same short run with the dashboard and with
# --no-tui, read from each run's summary.json. Goal: within 2 %. Both run in a tmux terminal,
# so they get the same terminal and the same process session (the kernel's autogroup scheduling
# would otherwise treat a run started from tmux and one started here differently on a busy
# machine).
#
#   bench/tui_overhead.sh [ROUNDS]    # default 2; each round runs both, alternating which goes first
#
# Needs tmux. Extra `--set` arguments can go in KILN_BENCH_SETS, e.g.
#   KILN_BENCH_SETS="--set train.epochs=1" bench/tui_overhead.sh 1
# KILN_BIN=path/to/kiln uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kiln-target}"
rounds="${1:-2}"
if [[ -n "${KILN_BIN:-}" ]]; then
    kiln="$KILN_BIN"
else
    cargo build --quiet
    kiln="$CARGO_TARGET_DIR/debug/kiln"
fi
work="$(mktemp -d)"
socket="kiln-bench-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
# shellcheck disable=SC2206 # word splitting of the extra sets is wanted
args=(train configs/quickstart.toml --set train.epochs=2 ${KILN_BENCH_SETS:-})
limit=3600

# summary.json is pretty-printed, one key a line.
images_per_second() { sed -n 's/.*"images_per_second": *\([0-9.eE+-]*\).*/\1/p' "$1"/*/summary.json; }

# Polls until a file matching the glob exists (a run takes minutes; its end is a file).
wait_for() {
    local start=$SECONDS
    until compgen -G "$1" >/dev/null; do
        if ((SECONDS - start > limit)); then
            echo "timed out waiting for $1" >&2
            tmux -L "$socket" capture-pane -p -t bench >&2 || true
            exit 1
        fi
        sleep 1
    done
}

# CPU time of the dashboard's threads (main, bridge, terminal reader: all but the trainer's and
# telemetry's) as a share of the whole process: a figure that other load on the machine does not
# blur. Appended to $work/cpu.
cpu_share() {
    local pane kiln ticks=0 all
    pane=$(tmux -L "$socket" display-message -p -t bench '#{pane_pid}')
    kiln=$(pgrep -P "$pane" -x kiln || echo "$pane")
    for task in /proc/"$kiln"/task/*; do
        case "$(cat "$task/comm")" in
        kiln | kiln-tui-bridge) ticks=$((ticks + $(awk '{ print $14 + $15 }' "$task/stat"))) ;;
        esac
    done
    all=$(awk '{ print $14 + $15 }' /proc/"$kiln"/stat)
    echo "$ticks $all" >>"$work/cpu"
}

# Runs kiln in a fresh tmux session: $1 names the run, the rest are extra arguments.
in_tmux() {
    local name=$1 runs="$work/$1"
    shift
    tmux -L "$socket" -f /dev/null new-session -d -x 160 -y 50 -s bench -c "$PWD" \
        "$kiln ${args[*]} --runs-dir $runs $*; touch $work/$name.done"
    wait_for "$runs/*/summary.json"
}

plain() {
    in_tmux "plain-$1" --no-tui
    wait_for "$work/plain-$1.done"
    images_per_second "$work/plain-$1"
}

dashboard() {
    in_tmux "tui-$1"
    cpu_share
    # The dashboard stays with the summary until q.
    tmux -L "$socket" send-keys -t bench q
    wait_for "$work/tui-$1.done"
    images_per_second "$work/tui-$1"
}

tui_all=()
plain_all=()
for ((i = 1; i <= rounds; i++)); do
    if ((i % 2)); then
        p=$(plain "$i")
        t=$(dashboard "$i")
    else
        t=$(dashboard "$i")
        p=$(plain "$i")
    fi
    printf 'round %d: dashboard %.2f img/s, --no-tui %.2f img/s\n' "$i" "$t" "$p"
    tui_all+=("$t")
    plain_all+=("$p")
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.2f", s / NR }'; }
t=$(mean "${tui_all[@]}")
p=$(mean "${plain_all[@]}")
echo "dashboard: $t img/s   --no-tui: $p img/s   (mean of $rounds)"
awk -v t="$t" -v p="$p" 'BEGIN { printf "ratio dashboard / --no-tui: %.4f (%+.2f %%)\n", t / p, (t / p - 1) * 100 }'
awk '{ d += $1; a += $2 } END { printf "dashboard threads: %.2f %% of the process CPU time (%d of %d ticks)\n", 100 * d / a, d, a }' "$work/cpu"
