#!/usr/bin/env bash
# Every speed figure of docs/PERFORMANCE.md, side by side, in one run:
#   hit      a cache hit beside /bin/true, a static C program that reads the entry and writes it
#            (the floor: gcc -static, and musl-gcc -static when there is one) and
#            gke-gcloud-auth-plugin's cache hit; peak RSS, instructions (callgrind), page faults
#   miss     a fetch against the loopback fake, minus the fake's own time; the same with 10,000
#            foreign files in the cache directory; peak RSS of a miss
#   storm    200 cold processes on one cluster beside 200 warm ones, one API call
#   outage   20 cold processes against an API that answers 503 to everything
#   refresh  the call that finds its certificate due for refresh, foreground and background, with
#            the API answering after 0, 1 and 3 s
#   size     the binary, and how it is linked
#
#   bench/run.sh                     all sections; SECTIONS="hit storm" for some
#
# Builds the plugin with install.sh (so it measures what users install), the fake_cloud example
# and two small C helpers (bench/cat-entry.c, bench/storm.c); installs hyperfine, jq, strace,
# GNU time and valgrind from Debian if missing. Prints PASS/FAIL per target, keeps everything in
# OUT_DIR, and exits 1 if a target fails (2 if the benchmark itself cannot run).
#
# Knobs: RUNS (300 hit runs), MISS_RUNS (60), STORMS (7), RSS_RUNS (20), BUILD (1; 0 reuses the
# binaries), GKE_PLUGIN (path), OUT_DIR (target/bench).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

SECTIONS="${SECTIONS:-hit miss storm outage refresh size}"
RUNS="${RUNS:-300}"
MISS_RUNS="${MISS_RUNS:-60}"
STORMS="${STORMS:-7}"
RSS_RUNS="${RSS_RUNS:-20}"
BUILD="${BUILD:-1}"
OUT_DIR="${OUT_DIR:-$ROOT/target/bench}"
AK_ID="BENCHAKID"
AK_SECRET="bench-secret-not-a-real-one"
CLUSTER="c-bench0123456789"
EXEC_INFO='{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}'

# Targets (issue 10 and 11, PRODUCT.md "Fast at the limit").
MAX_HIT_VS_TRUE=0.85
MAX_HIT_VS_GKE=0.15
MAX_HIT_VS_C=1.05
MAX_HIT_RSS_KIB=3072
MAX_MISS_OVERHEAD_MS=2.5
MAX_MISS_FOREIGN_RATIO=1.2
MAX_STORM_RATIO=2.5
OUTAGE_BUDGET_S=10
MAX_BACKGROUND_CALL_MS=250

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench/run.sh: error: %s\n' "$*" >&2; exit 2; }
wants() { [[ " $SECTIONS " == *" $1 "* ]]; }

# ---- tools -----------------------------------------------------------------------------------
as_root() { if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
need() { # need <command or /path> <debian package>
    if [[ "$1" == /* ]]; then [[ -x "$1" ]] && return 0; else command -v "$1" >/dev/null && return 0; fi
    say "installing $2"
    if ! DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$2" >/dev/null 2>&1; then
        [[ $apt_updated == 1 ]] || { as_root apt-get update -q >/dev/null; apt_updated=1; }
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "$2" >/dev/null
    fi
}
need hyperfine hyperfine
need jq jq
need strace strace
need /usr/bin/time time
need valgrind valgrind
need gcc gcc
command -v cargo >/dev/null || die "cargo is not on PATH"
GKE_PLUGIN="${GKE_PLUGIN:-$(command -v gke-gcloud-auth-plugin || true)}"
[[ -z "$GKE_PLUGIN" ]] || GKE_PLUGIN="$(readlink -f "$GKE_PLUGIN")"
have_perf=0
if command -v perf >/dev/null && perf stat -e page-faults -x, -o /dev/null /bin/true >/dev/null 2>&1; then
    have_perf=1
fi

# ---- build -----------------------------------------------------------------------------------
mkdir -p "$OUT_DIR"
plugin="$OUT_DIR/install/bin/ack-credential-plugin"
fake="$ROOT/target/release/examples/fake_cloud"
if [[ "$BUILD" == 1 ]]; then
    say "building the plugin with install.sh"
    PREFIX="$OUT_DIR/install" ./install.sh 2>&1 | grep -E '^(building|installed|install.sh)' \
        | tee "$OUT_DIR/install.txt" >&2
    say "building the fake_cloud example and the C helpers"
    cargo build -q --release --locked --example fake_cloud
    gcc -O2 -static -o "$OUT_DIR/cat-entry" bench/cat-entry.c
    if command -v musl-gcc >/dev/null; then
        musl-gcc -O2 -static -o "$OUT_DIR/cat-entry-musl" bench/cat-entry.c
    fi
    gcc -O2 -o "$OUT_DIR/storm" bench/storm.c
fi
for bin in "$plugin" "$fake" "$OUT_DIR/cat-entry" "$OUT_DIR/storm"; do
    [[ -x "$bin" ]] || die "$bin is missing (run with BUILD=1)"
done
linkage() {
    local type interp
    type="$(readelf -h "$1" | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')"
    interp="$(readelf -l "$1" | grep -c 'program interpreter' || true)"
    if [[ "$interp" != 0 ]]; then echo dynamic
    elif [[ "$type" == DYN ]]; then echo static-pie
    else echo static; fi
}
# Which C library a static binary carries: glibc's start-up code reads GLIBC_TUNABLES, musl has
# no such thing.
libc_of() { if grep -qa 'GLIBC_TUNABLES' "$1"; then echo glibc; else echo musl; fi; }

# ---- the fake, and an isolated environment -----------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/ack-bench.XXXXXX")"
fake_pid=""
cleanup() {
    exec 3>&- 4<&- 2>/dev/null || true
    [[ -z "$fake_pid" ]] || kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkfifo "$work/in" "$work/out"
"$fake" "$AK_ID" "$AK_SECRET" "$CLUSTER" <"$work/in" >"$work/out" 2>"$work/fake.err" &
fake_pid=$!
exec 3>"$work/in" 4<"$work/out"
read -r -t 30 endpoint <&4 || die "the fake did not start: $(cat "$work/fake.err")"
fake_cmd() { local answer; echo "$*" >&3; read -r -t 30 answer <&4 || die "the fake did not answer"; echo "$answer"; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }
requests() { field requests "$(fake_cmd)"; }

home="$work/home"; cache="$work/cache"
mkdir -p "$home/.kube"
run_env=(env -i "HOME=$home" "PATH=/usr/bin:/bin" "LANG=C"
    "ALIBABA_CLOUD_ACCESS_KEY_ID=$AK_ID" "ALIBABA_CLOUD_ACCESS_KEY_SECRET=$AK_SECRET"
    "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true" "ACK_CS_ENDPOINT=$endpoint"
    "ACK_CACHE_DIR=$cache" "KUBERNETES_EXEC_INFO=$EXEC_INFO")
args=(get-credential --cluster-id "$CLUSTER")
hit_cmd="$plugin ${args[*]}"

summary="$OUT_DIR/summary.txt"
: >"$summary"
report() { printf '%s\n' "$*" | tee -a "$summary" >&2; }
verdict() { # verdict <ok?> <text>
    if [[ "$1" == 1 ]]; then report "PASS  $2"; else report "FAIL  $2"; fi
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo 1 || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
median_ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$1"; }

read -r load1 load5 _ </proc/loadavg
report "ack-credential-plugin benchmarks -- $(date -u +%Y-%m-%dT%H:%M:%SZ)"
report "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
report "load average at the start: $load1 (1 min), $load5 (5 min)"
report "plugin: $("$plugin" --version), $(libc_of "$plugin"), $(linkage "$plugin"), $(stat -c %s "$plugin") bytes"
[[ ! -s "$OUT_DIR/install.txt" ]] || report "install.sh: $(grep '^installed' "$OUT_DIR/install.txt" | head -1)"
report ""

seed() { "${run_env[@]}" "$plugin" "${args[@]}" >/dev/null || die "a fetch against the fake failed"; }

# ---- hit -------------------------------------------------------------------------------------
if wants hit; then
    say "hit: seeding the cache"
    rm -rf "$cache"; seed
    before="$(requests)"
    "${run_env[@]}" strace -f -qq -o "$work/strace" -e trace=socket,connect,execve,getrandom $hit_cmd >/dev/null
    grep -Eq '(socket|connect)\(' "$work/strace" && die "a cache hit touched the network"
    # A seeded hash map on the hit path: std's RandomState asks for 16 bytes (glibc's malloc asks
    # for 8 on its first allocation, which is not ours to avoid).
    grep -Eq 'getrandom\(.*, 16, ' "$work/strace" && die "a cache hit seeded a hash map (getrandom)"
    (( $(grep -c 'execve(' "$work/strace") == 1 )) || die "a cache hit started a program"
    [[ "$(requests)" == "$before" ]] || die "a cache hit made a request"
    entry="$(ls "$cache"/*.json | head -1)"
    names=(true ack-credential-plugin cat-entry); cmds=(/bin/true "$hit_cmd" "$OUT_DIR/cat-entry $entry")
    if [[ -x "$OUT_DIR/cat-entry-musl" ]]; then names+=(cat-entry-musl); cmds+=("$OUT_DIR/cat-entry-musl $entry"); fi
    if [[ -n "$GKE_PLUGIN" ]]; then
        # Its token cache, keyed by the kubeconfig's current context: a pure cache hit.
        ctx="gke_bench_us-central1_bench"
        printf 'apiVersion: v1\nkind: Config\ncurrent-context: %s\ncontexts:\n- name: %s\n  context: {cluster: %s, user: %s}\nclusters:\n- name: %s\n  cluster: {server: "https://127.0.0.1:1"}\nusers:\n- name: %s\n  user: {}\n' \
            "$ctx" "$ctx" "$ctx" "$ctx" "$ctx" "$ctx" >"$home/.kube/config"
        jq -n --arg c "$ctx" --arg e "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)" \
            '{current_context: $c, access_token: "ya29.bench-token", token_expiry: $e, extra_args: ""}' \
            >"$home/.kube/gke_gcloud_auth_plugin_cache"
        "${run_env[@]}" strace -f -qq -o "$work/strace.gke" -e trace=socket,connect,execve "$GKE_PLUGIN" >"$work/gke.out"
        grep -q ya29.bench-token "$work/gke.out" || die "gke-gcloud-auth-plugin did not answer from its cache"
        grep -Eq 'connect\(' "$work/strace.gke" && die "gke-gcloud-auth-plugin touched the network"
        names+=(gke-gcloud-auth-plugin); cmds+=("$GKE_PLUGIN")
    fi
    hf=(); for i in "${!names[@]}"; do hf+=(-n "${names[$i]}" "${cmds[$i]}"); done
    say "hit: hyperfine, $RUNS runs each"
    "${run_env[@]}" hyperfine -N --style none --warmup 30 --runs "$RUNS" --output=pipe \
        --export-json "$OUT_DIR/hit.json" "${hf[@]}" >/dev/null
    declare -A rss irefs faults
    for i in "${!names[@]}"; do
        max=0
        for ((r = 0; r < RSS_RUNS; r++)); do
            # shellcheck disable=SC2086
            "${run_env[@]}" /usr/bin/time -f %M -o "$work/rss" ${cmds[$i]} >/dev/null
            k="$(tail -n 1 "$work/rss")"; ((k > max)) && max=$k
        done
        rss[${names[$i]}]=$max
        if [[ "${names[$i]}" != gke-gcloud-auth-plugin ]]; then
            # shellcheck disable=SC2086
            "${run_env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null ${cmds[$i]} >/dev/null 2>"$work/cg"
            irefs[${names[$i]}]="$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$work/cg")"
        fi
        if [[ $have_perf == 1 ]]; then
            # shellcheck disable=SC2086
            "${run_env[@]}" perf stat -r 100 -x, -e page-faults,task-clock -o "$work/perf" ${cmds[$i]} >/dev/null
            faults[${names[$i]}]="$(awk -F, '$3 ~ /^page-faults/ {printf "%d", $1} $3 ~ /^task-clock/ {printf " %.3f ms CPU", $1}' "$work/perf")"
        fi
    done
    report "hit (hyperfine -N, $RUNS runs, output to a pipe)"
    report "$(printf '  %-24s %10s %10s %10s %12s  %s' command median_ms mean_ms min_ms instructions 'peak RSS, page faults')"
    for n in "${names[@]}"; do
        report "$(printf '  %-24s %10.3f %10.3f %10.3f %12s  %s KiB, %s' "$n" \
            "$(median_ms "$OUT_DIR/hit.json" "$n")" \
            "$(jq -r --arg n "$n" '.results[] | select(.command == $n) | .mean * 1000' "$OUT_DIR/hit.json")" \
            "$(jq -r --arg n "$n" '.results[] | select(.command == $n) | .min * 1000' "$OUT_DIR/hit.json")" \
            "${irefs[$n]:--}" "${rss[$n]}" "${faults[$n]:-n/a}")"
    done
    hit_ms="$(median_ms "$OUT_DIR/hit.json" ack-credential-plugin)"
    r="$(ratio "$hit_ms" "$(median_ms "$OUT_DIR/hit.json" true)")"
    verdict "$(le "$r" $MAX_HIT_VS_TRUE)" "hit / /bin/true = $r (target <= $MAX_HIT_VS_TRUE)"
    r="$(ratio "$hit_ms" "$(median_ms "$OUT_DIR/hit.json" cat-entry)")"
    verdict "$(le "$r" $MAX_HIT_VS_C)" "hit / static C reading the entry (gcc -static, $(libc_of "$OUT_DIR/cat-entry")) = $r (target <= $MAX_HIT_VS_C)"
    if [[ -x "$OUT_DIR/cat-entry-musl" ]]; then
        report "      (the same C program with musl-gcc -static: hit / it = $(ratio "$hit_ms" "$(median_ms "$OUT_DIR/hit.json" cat-entry-musl)"), for the record)"
    fi
    if [[ -n "$GKE_PLUGIN" ]]; then
        r="$(ratio "$hit_ms" "$(median_ms "$OUT_DIR/hit.json" gke-gcloud-auth-plugin)")"
        verdict "$(le "$r" $MAX_HIT_VS_GKE)" "hit / gke-gcloud-auth-plugin's hit = $r (target <= $MAX_HIT_VS_GKE)"
    else
        report "SKIP  hit / gke-gcloud-auth-plugin (not installed)"
    fi
    verdict "$(le "${rss[ack-credential-plugin]}" $MAX_HIT_RSS_KIB)" "hit peak RSS = ${rss[ack-credential-plugin]} KiB (target <= $MAX_HIT_RSS_KIB)"
    report ""
fi

# ---- miss ------------------------------------------------------------------------------------
miss_overhead() { # miss_overhead <label>: prints "<median ms> <fake ms> <overhead ms>"
    local before after n us
    before="$(fake_cmd)"
    "${run_env[@]}" hyperfine -N --style none --warmup 3 --runs "$MISS_RUNS" --output=pipe \
        --export-json "$OUT_DIR/miss-$1.json" -n miss "$hit_cmd --force-refresh" >/dev/null
    after="$(fake_cmd)"
    n=$(( $(field requests "$after") - $(field requests "$before") ))
    us=$(( $(field server_us "$after") - $(field server_us "$before") ))
    (( n == MISS_RUNS + 3 )) || die "expected $((MISS_RUNS + 3)) requests for the misses, the fake saw $n"
    awk -v m="$(median_ms "$OUT_DIR/miss-$1.json" miss)" -v f="$us" -v n="$n" \
        'BEGIN { printf "%.3f %.3f %.3f", m, f / n / 1000, m - f / n / 1000 }'
}
if wants miss; then
    say "miss: $MISS_RUNS fetches (--force-refresh), empty cache directory"
    rm -rf "$cache"; seed
    read -r miss_ms fake_ms overhead <<<"$(miss_overhead empty)"
    say "miss: the same with 10,000 foreign files in the cache directory"
    for ((i = 0; i < 10000; i++)); do : >"$cache/foreign-$i.dat"; done
    read -r miss2_ms fake2_ms overhead2 <<<"$(miss_overhead foreign)"
    [[ "$(ls "$cache" | wc -l)" -ge 10000 ]] || die "the foreign files were touched"
    find "$cache" -name 'foreign-*' -delete
    "${run_env[@]}" /usr/bin/time -f %M -o "$work/rss" $hit_cmd --force-refresh >/dev/null
    report "miss (hyperfine -N, $MISS_RUNS runs of --force-refresh against the loopback fake)"
    report "$(printf '  %-40s %8s ms' 'median, empty cache directory' "$miss_ms")"
    report "$(printf '  %-40s %8s ms' "  the fake's own time (mean)" "$fake_ms")"
    report "$(printf '  %-40s %8s ms' '  the plugin' "$overhead")"
    report "$(printf '  %-40s %8s ms' 'median, 10,000 foreign files' "$miss2_ms")"
    report "$(printf '  %-40s %8s ms' '  the plugin' "$overhead2")"
    report "$(printf '  %-40s %8s KiB' 'peak RSS of a miss' "$(tail -n 1 "$work/rss")")"
    verdict "$(le "$overhead" $MAX_MISS_OVERHEAD_MS)" "miss overhead = $overhead ms (target <= $MAX_MISS_OVERHEAD_MS)"
    verdict "$(le "$overhead2" $MAX_MISS_OVERHEAD_MS)" "miss overhead with 10,000 foreign files = $overhead2 ms (target <= $MAX_MISS_OVERHEAD_MS)"
    r="$(ratio "$miss2_ms" "$miss_ms")"
    verdict "$(le "$r" $MAX_MISS_FOREIGN_RATIO)" "miss with 10,000 foreign files / empty = $r (target <= $MAX_MISS_FOREIGN_RATIO)"
    report ""
fi

# ---- storm -----------------------------------------------------------------------------------
storm() { # storm <n> <outdir>: prints elapsed_ms and failures
    mkdir -p "$2"
    "${run_env[@]}" "$OUT_DIR/storm" "$1" "$2" "$plugin" "${args[@]}"
}
if wants storm; then
    say "storm: $STORMS times 200 cold processes on one cluster, and 200 warm ones"
    cold=(); warm=()
    for ((s = 0; s < STORMS; s++)); do
        rm -rf "$cache"
        before="$(requests)"
        line="$(storm 200 "$work/storm")"
        calls=$(( $(requests) - before ))
        [[ "$(field failures "$line")" == 0 ]] || die "cold storm $s: failures: $(cat "$work"/storm/err.* | sort | uniq -c | head)"
        (( calls == 1 )) || die "cold storm $s made $calls API calls, not 1"
        for ((i = 1; i < 200; i++)); do
            cmp -s "$work/storm/out.0" "$work/storm/out.$i" || die "cold storm $s: process $i printed another credential"
        done
        cold+=("$(sed -n 's/elapsed_ms=\([0-9.]*\).*/\1/p' <<<"$line")")
        line="$(storm 200 "$work/storm")"
        [[ "$(field failures "$line")" == 0 ]] || die "warm storm $s failed"
        warm+=("$(sed -n 's/elapsed_ms=\([0-9.]*\).*/\1/p' <<<"$line")")
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    cold_ms="$(med "${cold[@]}")"; warm_ms="$(med "${warm[@]}")"
    report "storm (bench/storm.c starts 200 processes at once; median of $STORMS)"
    report "$(printf '  %-40s %8s ms  (all: %s)' '200 cold, one cluster, 1 API call' "$cold_ms" "${cold[*]}")"
    report "$(printf '  %-40s %8s ms  (all: %s)' '200 warm (hits)' "$warm_ms" "${warm[*]}")"
    r="$(ratio "$cold_ms" "$warm_ms")"
    verdict "$(le "$r" $MAX_STORM_RATIO)" "200 cold / 200 warm = $r, exactly 1 API call each (target <= $MAX_STORM_RATIO)"
    report ""
fi

# ---- outage ----------------------------------------------------------------------------------
if wants outage; then
    say "outage: 20 cold processes against an API that answers 503 to everything"
    rm -rf "$cache"
    fake_cmd fail >/dev/null
    before="$(requests)"
    mkdir -p "$work/outage"
    line="$(run_env+=("ACK_API_TIMEOUT=$OUTAGE_BUDGET_S"); "${run_env[@]}" "$OUT_DIR/storm" 20 "$work/outage" "$plugin" "${args[@]}")"
    calls=$(( $(requests) - before ))
    fake_cmd ok >/dev/null
    elapsed="$(sed -n 's/elapsed_ms=\([0-9.]*\).*/\1/p' <<<"$line")"
    failures="$(field failures "$line")"
    sed 's/RequestId: [^)]*/RequestId: */' "$work"/outage/err.* | sort | uniq -c >"$work/outage/distinct"
    distinct="$(wc -l <"$work/outage/distinct")"
    report "outage (20 cold processes, every request answered 503, ACK_API_TIMEOUT=$OUTAGE_BUDGET_S)"
    report "$(printf '  %-40s %8s ms, %s of 20 failed, %s API calls, %s distinct stderr lines' 'all done after' "$elapsed" "$failures" "$calls" "$distinct")"
    ok=$(( failures == 20 && calls <= 5 ))
    [[ "$(le "$elapsed" $(( (OUTAGE_BUDGET_S + 2) * 1000 )))" == 1 ]] || ok=0
    while read -r n text; do report "$(printf '    %2s x  %s' "$n" "$text")"; done <"$work/outage/distinct"
    verdict "$ok" "outage: all 20 fail within the budget + 2 s, one fetch's calls (<= 5) (target)"
    report ""
fi

# ---- refresh ---------------------------------------------------------------------------------
if wants refresh; then
    say "refresh: the call that finds its certificate due, foreground and background"
    report "refresh (certificates valid 9 min: inside the 10-minute window at once, still usable; 10 calls each, ms)"
    report "$(printf '  %-12s %-12s %10s %10s' 'API delay' mode median max)"
    fake_cmd lifetime 540 >/dev/null
    worst_background=0
    for delay in 0 1000 3000; do
        for mode in foreground background; do
            rm -rf "$cache"; fake_cmd latency 0 >/dev/null; seed
            fake_cmd latency "$delay" >/dev/null
            env_mode=(); [[ $mode == foreground ]] && env_mode=("ACK_BACKGROUND_REFRESH=0")
            times=()
            for ((c = 0; c < 10; c++)); do
                start=$(date +%s%N)
                "${run_env[@]}" "${env_mode[@]}" "$plugin" "${args[@]}" >/dev/null 2>>"$work/refresh.err" \
                    || die "a call during the refresh benchmark failed: $(tail -n 3 "$work/refresh.err")"
                times+=("$(( ($(date +%s%N) - start) / 1000000 ))")
            done
            sorted="$(printf '%s\n' "${times[@]}" | sort -n)"
            med="$(awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' <<<"$sorted")"
            max="$(tail -n 1 <<<"$sorted")"
            report "$(printf '  %-12s %-12s %10s %10s' "$delay ms" "$mode" "$med" "$max")"
            if [[ $mode == background ]] && ((max > worst_background)); then worst_background=$max; fi
        done
    done
    fake_cmd latency 0 >/dev/null; fake_cmd lifetime 10800 >/dev/null
    verdict "$(le "$worst_background" $MAX_BACKGROUND_CALL_MS)" "background refresh: no call waits on the API (slowest call $worst_background ms, target <= $MAX_BACKGROUND_CALL_MS ms whatever the API's delay)"
    report ""
fi

# ---- size ------------------------------------------------------------------------------------
if wants size; then
    report "size: $(stat -c %s "$plugin") bytes, $(libc_of "$plugin"), $(linkage "$plugin")"
    report ""
fi

read -r load1 load5 _ </proc/loadavg
report "load average at the end: $load1 (1 min), $load5 (5 min)"
say "results: $summary (and the hyperfine JSON beside it)"
grep -q '^FAIL' "$summary" && exit 1
exit 0
