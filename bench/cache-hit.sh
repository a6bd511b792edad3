#!/usr/bin/env bash
# Benchmark the hot path of ack-credential-plugin: `get-credential` with a valid cached
# certificate, which kubectl runs on every call. See docs/PERFORMANCE.md.
#
#   bench/cache-hit.sh
#
# What it does:
#   1. installs hyperfine, GNU time, jq and strace from Debian if missing;
#   2. builds and installs the plugin with install.sh itself (static, not position-independent, on
#      linux-gnu), plus two extra rows (DYNAMIC=0 skips them): install.sh with ACK_PIE=1
#      (static-pie) and the default dynamically linked cargo build; and the fake_cloud example;
#   3. starts the fake ACK API on 127.0.0.1, seeds the plugin's cache with one real get-credential,
#      checks that a second run makes no request, then STOPS the fake: every measured run works
#      with nothing listening, which proves it touches no network;
#   4. seeds gke-gcloud-auth-plugin's token cache so that it too is a pure cache hit (checked
#      with strace: no socket, no connect, no gcloud child);
#   5. times /bin/true, the plugin and gke-gcloud-auth-plugin side by side in one hyperfine run,
#      measures peak RSS, binary size and (when available) perf stat and callgrind counts;
#   6. prints PASS/FAIL per target and exits 1 if any target fails (2 or cargo's status if the
#      benchmark itself cannot run).
#
# Knobs (environment): RUNS (500), WARMUP (50), RSS_RUNS (20), PERF_RUNS (500), DYNAMIC (1),
# BUILD (1; 0 reuses the binaries already in target/), GKE_PLUGIN (path; default: gke-gcloud-auth-plugin on PATH), OUT_DIR (target/bench/cache-hit).
# Results (hyperfine JSON, summary) are kept in OUT_DIR; temporary files are removed on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$(pwd)"

RUNS="${RUNS:-500}"
WARMUP="${WARMUP:-50}"
RSS_RUNS="${RSS_RUNS:-20}"
PERF_RUNS="${PERF_RUNS:-500}"
DYNAMIC="${DYNAMIC:-1}"
BUILD="${BUILD:-1}"
OUT_DIR="${OUT_DIR:-$ROOT/target/bench/cache-hit}"

AK_ID="BENCHAKID"
AK_SECRET="bench-secret-not-a-real-one"
CLUSTER="c-bench0123456789"
GKE_CONTEXT="gke_bench-project_us-central1_bench"
GKE_TOKEN="ya29.bench-cached-token-0123456789"
# What kubectl puts in the environment of every exec plugin (client.authentication.k8s.io/v1).
EXEC_INFO='{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}'

# Targets.
MAX_RATIO_TRUE="1.3"
MAX_RATIO_GKE="0.33"
MAX_RSS_KIB=$((8 * 1024))

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'cache-hit.sh: error: %s\n' "$*" >&2; exit 2; }

# ------------------------------------------------------------------------------------------
# Clean-up: stop the fake (by its pid), remove the temporary directory. Runs on every exit.
# ------------------------------------------------------------------------------------------
work=""
fake_pid=""
cleanup() {
    local status=$?
    exec 3>&- 4<&- || true
    if [[ -n "$fake_pid" ]] && kill -0 "$fake_pid" 2>/dev/null; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
    fi
    if [[ -n "$work" && -d "$work" ]]; then
        rm -rf -- "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------------------------------
# Tools
# ------------------------------------------------------------------------------------------
as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}
apt_updated=0
need() { # need <path-or-command> <debian package>
    local cmd="$1" pkg="$2"
    if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] && return 0
    else command -v "$cmd" >/dev/null 2>&1 && return 0; fi
    command -v apt-get >/dev/null 2>&1 || die "$cmd is missing and apt-get is not available; install $pkg"
    say "installing $pkg"
    if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$pkg" >/dev/null; then
        if [[ $apt_updated == 0 ]]; then
            as_root apt-get update -q >/dev/null
            apt_updated=1
        fi
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$pkg" >/dev/null
    fi
}
need hyperfine hyperfine
need /usr/bin/time time
need jq jq
need strace strace
command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust (https://rustup.rs) first"
command -v readelf >/dev/null 2>&1 || need readelf binutils

GKE_PLUGIN="${GKE_PLUGIN:-$(command -v gke-gcloud-auth-plugin || true)}"
if [[ -z "$GKE_PLUGIN" ]]; then
    say "gke-gcloud-auth-plugin not found: its row and target are skipped"
    say "(it comes from Google's apt repository: package google-cloud-cli-gke-gcloud-auth-plugin)"
fi
GKE_PLUGIN="$(readlink -f "$GKE_PLUGIN" 2>/dev/null || true)"

# ------------------------------------------------------------------------------------------
# Build: the plugin by install.sh itself (into target/bench/install), the position-independent
# variant (ACK_PIE=1) and the dynamically linked default cargo build for comparison, the fake.
# ------------------------------------------------------------------------------------------
host="$(rustc -vV | sed -n 's/^host: //p')"
plugin="$ROOT/target/bench/install/bin/ack-credential-plugin"
plugin_pie=""
plugin_dyn=""
[[ "$DYNAMIC" != 1 ]] || plugin_pie="$ROOT/target/bench/install-pie/bin/ack-credential-plugin"
[[ "$DYNAMIC" != 1 ]] || plugin_dyn="$ROOT/target/release/ack-credential-plugin"
fake_bin="$ROOT/target/debug/examples/fake_cloud"
if [[ "$BUILD" == 1 ]]; then
    say "building and installing ack-credential-plugin with install.sh"
    PREFIX="$ROOT/target/bench/install" ./install.sh >/dev/null
    if [[ -n "$plugin_dyn" ]]; then
        say "building the position-independent (ACK_PIE=1) and dynamically linked variants"
        ACK_PIE=1 PREFIX="$ROOT/target/bench/install-pie" ./install.sh >/dev/null
        cargo build -q --release --locked
    fi
    say "building the fake_cloud example"
    cargo build -q --locked --example fake_cloud
else
    say "BUILD=0: using the binaries already built"
fi
for bin in "$plugin" $plugin_pie $plugin_dyn "$fake_bin"; do
    [[ -x "$bin" ]] || die "$bin is missing (run without BUILD=0)"
done

# static: ET_EXEC with no interpreter; static-pie: an ET_DYN executable with neither an interpreter (PT_INTERP) nor DT_NEEDED.
linkage() {
    local bin="$1" type interp needed
    type="$(readelf -h "$bin" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')"
    interp="$(readelf -l "$bin" | grep -c 'Requesting program interpreter' || true)"
    needed="$(readelf -d "$bin" 2>/dev/null | grep -c '(NEEDED)' || true)"
    if [[ "$type" == DYN && "$interp" == 0 && "$needed" == 0 ]]; then echo "static-pie"
    elif [[ "$type" == EXEC && "$interp" == 0 ]]; then echo "static"
    elif [[ "$interp" != 0 ]]; then echo "dynamic ($needed shared libraries)"
    else echo "unknown ($type)"; fi
}

# ------------------------------------------------------------------------------------------
# An isolated environment: a throw-away HOME, nothing inherited (no proxies, no real config).
# ------------------------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/ack-cache-hit.XXXXXX")"
home="$work/home"
cache_dir="$work/ack-cache"
mkdir -p "$home/.kube" "$cache_dir"
mkdir -p "$OUT_DIR"

# ------------------------------------------------------------------------------------------
# The fake ACK API: stdin/stdout through FIFOs so that we can ask for its request counters.
# ------------------------------------------------------------------------------------------
mkfifo "$work/fake.in" "$work/fake.out"
"$fake_bin" "$AK_ID" "$AK_SECRET" "$CLUSTER" <"$work/fake.in" >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
exec 3>"$work/fake.in" 4<"$work/fake.out"
read -r -t 30 endpoint <&4 || die "the fake did not print its endpoint: $(cat "$work/fake.log")"
[[ "$endpoint" =~ ^http://127\.0\.0\.1:([0-9]+)$ ]] || die "unexpected endpoint '$endpoint'"
port="${BASH_REMATCH[1]}"
say "fake ACK API at $endpoint (pid $fake_pid)"

fake_counts() {
    local line
    echo >&3
    read -r -t 10 line <&4 || die "the fake did not answer"
    echo "$line"
}
stop_fake() {
    exec 3>&-  # end of stdin: the fake exits
    wait "$fake_pid" || true
    fake_pid=""
    exec 4<&-
}

run_env=(env -i
    "HOME=$home"
    "PATH=/usr/bin:/bin"
    "LANG=C"
    "ALIBABA_CLOUD_ACCESS_KEY_ID=$AK_ID"
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET=$AK_SECRET"
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"
    "ACK_CS_ENDPOINT=$endpoint"
    "ACK_CACHE_DIR=$cache_dir"
    "KUBERNETES_EXEC_INFO=$EXEC_INFO")
plugin_args=(get-credential --cluster-id "$CLUSTER")

# ------------------------------------------------------------------------------------------
# Seed the plugin's cache with one real request; a second run must make none.
# ------------------------------------------------------------------------------------------
say "seeding the plugin's cache with one get-credential against the fake"
"${run_env[@]}" "$plugin" "${plugin_args[@]}" >"$work/seed.json" 2>"$work/seed.err" \
    || die "seeding get-credential failed: $(cat "$work/seed.err")"
jq -e '.kind == "ExecCredential" and (.status.clientCertificateData | startswith("-----BEGIN CERTIFICATE"))' \
    "$work/seed.json" >/dev/null || die "seeding run printed no certificate: $(head -c 300 "$work/seed.json")"
seeded="$(fake_counts)"
[[ "$seeded" == "requests=1 successes=1 "* ]] || die "expected one request to seed the cache, fake says: $seeded"
ls "$cache_dir"/*.json >/dev/null 2>&1 || die "no cache file in $cache_dir"

"${run_env[@]}" "$plugin" "${plugin_args[@]}" >"$work/hit.json" 2>"$work/hit.err" \
    || die "second get-credential failed: $(cat "$work/hit.err")"
after="$(fake_counts)"
[[ "$after" == "$seeded" ]] || die "the second run made a request: before '$seeded', after '$after'"
[[ ! -s "$work/hit.err" ]] || die "a cache hit wrote to stderr: $(cat "$work/hit.err")"
cmp -s <(jq -S .status "$work/seed.json") <(jq -S .status "$work/hit.json") \
    || die "the cache hit printed a different credential than the seeding run"
say "second run: served from cache, fake still at '$after'"

# Stop the fake. From here on nothing listens on $endpoint: a run that tried the network would
# fail or, for the plugin's fallback, show up as connect() in strace below.
stop_fake
if (exec 5<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "something still listens on 127.0.0.1:$port after stopping the fake"
fi
say "fake stopped; 127.0.0.1:$port refuses connections"

# ------------------------------------------------------------------------------------------
# Seed gke-gcloud-auth-plugin: ~/.kube/gke_gcloud_auth_plugin_cache next to the kubeconfig it
# reads (~/.kube/config), whose current-context must equal the cache's current_context. With no
# flags it uses the gcloud token provider, which trusts a cached token valid for > 10 s.
# ------------------------------------------------------------------------------------------
if [[ -n "$GKE_PLUGIN" ]]; then
    cat >"$home/.kube/config" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $GKE_CONTEXT
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: $GKE_CONTEXT
  context:
    cluster: $GKE_CONTEXT
    user: $GKE_CONTEXT
current-context: $GKE_CONTEXT
users:
- name: $GKE_CONTEXT
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      provideClusterInfo: true
      interactiveMode: Never
EOF
    gke_expiry="$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)"
    jq -n --arg c "$GKE_CONTEXT" --arg t "$GKE_TOKEN" --arg e "$gke_expiry" \
        '{current_context: $c, access_token: $t, token_expiry: $e, extra_args: ""}' \
        >"$home/.kube/gke_gcloud_auth_plugin_cache"
    chmod 600 "$home/.kube/config" "$home/.kube/gke_gcloud_auth_plugin_cache"
fi

# ------------------------------------------------------------------------------------------
# Proof by strace: each measured command opens no socket, connects nowhere, starts nothing.
# ------------------------------------------------------------------------------------------
check_offline() { # check_offline <name> <expected stdout pattern> <command...>
    local name="$1" pattern="$2"
    shift 2
    local trace="$work/strace.$name"
    "${run_env[@]}" strace -f -qq -o "$trace" -e trace=socket,connect,execve,openat "$@" \
        >"$work/out.$name" 2>"$work/err.$name" \
        || die "$name failed: $(cat "$work/err.$name")"
    grep -q -- "$pattern" "$work/out.$name" || die "$name printed no credential: $(head -c 300 "$work/out.$name")"
    if grep -Eq '(socket|connect)\(' "$trace"; then
        grep -E '(socket|connect)\(' "$trace" >&2
        die "$name touched the network"
    fi
    local execs
    execs="$(grep -c 'execve(' "$trace" || true)"
    [[ "$execs" == 1 ]] || { grep 'execve(' "$trace" >&2; die "$name started another program"; }
    local opened
    opened="$(grep -v ENOENT "$trace" | grep -o 'openat([^"]*"[^"]*"' | sed 's/.*"\(.*\)"/\1/' \
        | grep -v '^/proc/\|^/sys/' | sed "s|$work|\$TMP|" | sort -u | tr '\n' ' ')"
    say "$name: output ok; no socket/connect, no child; opens: ${opened:-nothing}"
}
check_offline ack-credential-plugin '"clientCertificateData"' "$plugin" "${plugin_args[@]}"
[[ -z "$plugin_pie" ]] || check_offline ack-credential-plugin-pie '"clientCertificateData"' \
    "$plugin_pie" "${plugin_args[@]}"
[[ -z "$plugin_dyn" ]] || check_offline ack-credential-plugin-dynamic '"clientCertificateData"' \
    "$plugin_dyn" "${plugin_args[@]}"
[[ -z "$GKE_PLUGIN" ]] || check_offline gke-gcloud-auth-plugin "\"$GKE_TOKEN\"" "$GKE_PLUGIN"
[[ ! -s "$work/err.ack-credential-plugin" ]] || die "plugin hit wrote to stderr"

# ------------------------------------------------------------------------------------------
# Timing: one hyperfine run, no shell, output through a pipe as kubectl reads it.
# ------------------------------------------------------------------------------------------
names=(true ack-credential-plugin)
cmds=(/bin/true "$plugin ${plugin_args[*]}")
bins=(/bin/true "$plugin")
if [[ -n "$plugin_pie" ]]; then
    names+=(ack-credential-plugin-pie); cmds+=("$plugin_pie ${plugin_args[*]}"); bins+=("$plugin_pie")
fi
if [[ -n "$plugin_dyn" ]]; then
    names+=(ack-credential-plugin-dynamic); cmds+=("$plugin_dyn ${plugin_args[*]}"); bins+=("$plugin_dyn")
fi
if [[ -n "$GKE_PLUGIN" ]]; then
    names+=(gke-gcloud-auth-plugin); cmds+=("$GKE_PLUGIN"); bins+=("$GKE_PLUGIN")
fi
hf_args=()
for i in "${!names[@]}"; do hf_args+=(-n "${names[$i]}" "${cmds[$i]}"); done

read -r load1 _ </proc/loadavg
say "load average before timing: $load1 (nproc $(nproc))"
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    say "WARNING: the machine is busy (load $load1 on $(nproc) CPUs): medians will be noisy; rerun when it is quiet"
fi
say "hyperfine: $RUNS runs + $WARMUP warm-ups per command"
"${run_env[@]}" hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --output=pipe \
    --export-json "$OUT_DIR/hyperfine.json" "${hf_args[@]}"

# ------------------------------------------------------------------------------------------
# Peak RSS (GNU time %M, KiB), perf stat, callgrind.
# ------------------------------------------------------------------------------------------
declare -A rss
for i in "${!names[@]}"; do
    max=0
    for ((r = 0; r < RSS_RUNS; r++)); do
        # shellcheck disable=SC2086  # cmds[i] is a simple word list, as hyperfine -N splits it
        "${run_env[@]}" /usr/bin/time -f %M -o "$work/rss" ${cmds[$i]} >/dev/null
        kib="$(tail -n 1 "$work/rss")"
        if ((kib > max)); then max=$kib; fi
    done
    rss[${names[$i]}]=$max
done

declare -A perf_ms perf_pf
have_perf=0
if command -v perf >/dev/null 2>&1 && perf stat -e task-clock -x, -o /dev/null /bin/true >/dev/null 2>&1; then
    have_perf=1
    say "perf stat -r $PERF_RUNS -e task-clock,page-faults"
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086
        "${run_env[@]}" perf stat -r "$PERF_RUNS" -x, -e task-clock,page-faults -o "$work/perf" \
            ${cmds[$i]} >/dev/null
        perf_ms[${names[$i]}]="$(awk -F, '$3 ~ /^task-clock/ {printf "%.3f", $1}' "$work/perf")"
        perf_pf[${names[$i]}]="$(awk -F, '$3 ~ /^page-faults/ {printf "%d", $1}' "$work/perf")"
    done
else
    say "perf not available: skipping perf stat"
fi

declare -A irefs
have_valgrind=0
if command -v valgrind >/dev/null 2>&1; then
    have_valgrind=1
    say "valgrind --tool=callgrind (instructions executed, deterministic)"
    for i in "${!names[@]}"; do
        [[ "${names[$i]}" == gke-gcloud-auth-plugin ]] && continue  # Go runtime: threads, slow
        # shellcheck disable=SC2086
        "${run_env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null ${cmds[$i]} \
            >/dev/null 2>"$work/callgrind" || die "callgrind of ${names[$i]} failed"
        irefs[${names[$i]}]="$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$work/callgrind")"
    done
else
    say "valgrind not available: skipping instruction counts"
fi

# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
json="$OUT_DIR/hyperfine.json"
stat_of() { jq -r --arg n "$1" --arg f "$2" '.results[] | select(.command == $n) | .[$f]' "$json"; }
us() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

summary="$OUT_DIR/summary.txt"
{
    echo "ack-credential-plugin cache hit -- $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
    echo "$(rustc --version); glibc $(getconf GNU_LIBC_VERSION 2>/dev/null | sed 's/^glibc //'); $(hyperfine --version)"
    [[ -z "$GKE_PLUGIN" ]] || echo "gke-gcloud-auth-plugin: $("$GKE_PLUGIN" --version 2>&1 | head -n 1)"
    echo "hyperfine -N --warmup $WARMUP --runs $RUNS --output=pipe; load average before: $load1"
    echo
    printf '%-30s %12s %12s %10s %10s %9s\n' command median_us mean_us sigma_us min_us peak_rss
    for n in "${names[@]}"; do
        printf '%-30s %12s %12s %10s %10s %6s KiB\n' "$n" "$(us "$(stat_of "$n" median)")" \
            "$(us "$(stat_of "$n" mean)")" "$(us "$(stat_of "$n" stddev)")" \
            "$(us "$(stat_of "$n" min)")" "${rss[$n]}"
    done
    if [[ $have_perf == 1 ]]; then
        echo
        printf '%-30s %14s %12s\n' "perf stat -r $PERF_RUNS" task-clock_ms page-faults
        for n in "${names[@]}"; do printf '%-30s %14s %12s\n' "$n" "${perf_ms[$n]}" "${perf_pf[$n]}"; done
    fi
    if [[ $have_valgrind == 1 ]]; then
        echo
        printf '%-30s %14s\n' "callgrind" instructions
        for n in "${names[@]}"; do
            [[ -n "${irefs[$n]:-}" ]] && printf '%-30s %14s\n' "$n" "${irefs[$n]}"
        done
    fi
    echo
    for i in "${!names[@]}"; do
        [[ "${bins[$i]}" == /bin/true ]] && continue
        printf '%-30s %10s bytes, %s\n' "${names[$i]}" "$(stat -c %s "${bins[$i]}")" "$(linkage "${bins[$i]}")"
    done
    printf '%-30s %10s bytes, %s\n' "true ($(readlink -f /bin/true))" "$(stat -c %s /bin/true)" "$(linkage "$(readlink -f /bin/true)")"
} | tee "$summary"

p_med="$(stat_of ack-credential-plugin median)"
t_med="$(stat_of true median)"
failed=0
verdict() { # verdict <PASS|FAIL|SKIP> <text>
    echo "$1  $2"
    [[ "$1" != FAIL ]] || failed=1
}
{
    echo
    r="$(ratio "$p_med" "$t_med")"
    if le "$r" "$MAX_RATIO_TRUE"; then v=PASS; else v=FAIL; fi
    verdict "$v" "median plugin / median /bin/true = $r (target <= $MAX_RATIO_TRUE)"
    if [[ -n "$GKE_PLUGIN" ]]; then
        r="$(ratio "$p_med" "$(stat_of gke-gcloud-auth-plugin median)")"
        if le "$r" "$MAX_RATIO_GKE"; then v=PASS; else v=FAIL; fi
        verdict "$v" "median plugin / median gke-gcloud-auth-plugin = $r (target <= $MAX_RATIO_GKE)"
    else
        verdict SKIP "median plugin / median gke-gcloud-auth-plugin (gke-gcloud-auth-plugin not installed)"
    fi
    p_rss="${rss[ack-credential-plugin]}"
    if ((p_rss <= MAX_RSS_KIB)); then v=PASS; else v=FAIL; fi
    verdict "$v" "peak RSS of the plugin = $p_rss KiB over $RSS_RUNS runs (target <= $MAX_RSS_KIB KiB)"
    [[ -z "$plugin_pie" ]] || echo "      (static-pie build, ACK_PIE=1, for comparison: median / true = $(ratio "$(stat_of ack-credential-plugin-pie median)" "$t_med"))"
    [[ -z "$plugin_dyn" ]] || echo "      (dynamic build, for comparison: median / true = $(ratio "$(stat_of ack-credential-plugin-dynamic median)" "$t_med"))"
} | tee -a "$summary"
# The pipeline ran in a subshell: recompute the verdict here.
grep -q '^FAIL ' "$summary" && failed=1

# The last check: the measured runs left the cache alone and still need no network.
check_offline ack-credential-plugin-after '"clientCertificateData"' "$plugin" "${plugin_args[@]}"

say "results: $summary and $json"
exit "$failed"
