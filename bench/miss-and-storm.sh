#!/usr/bin/env bash
# Benchmark the plugin's cold paths against the loopback fake ACK API (see docs/PERFORMANCE.md):
#   miss  - `get-credential --force-refresh`: one full fetch (HTTP client, signing, the fake's
#           answer, certificate parsing, atomic cache write), with the fake's own time subtracted;
#   storm - 50 processes started at once, cold, across 5 clusters (what k9s or Lens do): wall
#           time until all have printed, and how many API calls they made (must be 5);
#   and the peak RSS of a miss and the binary's size.
#
#   bench/miss-and-storm.sh            (RUNS=100 misses, STORMS=10 storms; BUILD=0 reuses target/)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-100}"
STORMS="${STORMS:-10}"
BUILD="${BUILD:-1}"
OUT_DIR="${OUT_DIR:-$PWD/target/bench/miss-and-storm}"
AK_ID="BENCHAKID"
AK_SECRET="bench-secret-not-a-real-one"
CLUSTERS=(c-storm0 c-storm1 c-storm2 c-storm3 c-storm4)
MAX_MISS_OVERHEAD_MS=10

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'miss-and-storm.sh: error: %s\n' "$*" >&2; exit 2; }

for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || apt-get install -y -qq "$tool" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq "$tool" >/dev/null; } \
        || die "cannot install $tool"
done
[[ -x /usr/bin/time ]] || apt-get install -y -qq time >/dev/null 2>&1 || die "cannot install GNU time"

if [[ "$BUILD" == 1 ]]; then
    say "building and installing the plugin with install.sh, and building the fake"
    PREFIX="$PWD/target/bench/install" ./install.sh >/dev/null
    cargo build --quiet --release --locked --example fake_cloud
fi
plugin="$PWD/target/bench/install/bin/ack-credential-plugin"
fake="$PWD/target/release/examples/fake_cloud"
[[ -x "$plugin" && -x "$fake" ]] || die "build first (BUILD=1)"

work="$(mktemp -d)"
fake_pid=""
cleanup() {
    exec 3>&- 4<&- 2>/dev/null || true
    [[ -n "$fake_pid" ]] && kill "$fake_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/in" "$work/out"
"$fake" "$AK_ID" "$AK_SECRET" "$(IFS=,; echo "${CLUSTERS[*]}")" <"$work/in" >"$work/out" 2>"$work/fake.err" &
fake_pid=$!
exec 3>"$work/in" 4<"$work/out"
read -r -t 10 endpoint <&4 || die "the fake did not start: $(cat "$work/fake.err")"
counts() { echo >&3; read -r -t 10 line <&4 || die "the fake did not answer"; echo "$line"; }
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"$2"; }

export HOME="$work/home" ACK_CS_ENDPOINT="$endpoint" ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
export ALIBABA_CLOUD_ACCESS_KEY_ID="$AK_ID" ALIBABA_CLOUD_ACCESS_KEY_SECRET="$AK_SECRET"
export ACK_CACHE_DIR="$work/cache"
unset HTTPS_PROXY HTTP_PROXY https_proxy http_proxy ALL_PROXY all_proxy KUBERNETES_EXEC_INFO
mkdir -p "$HOME" "$OUT_DIR"

# ---- miss ------------------------------------------------------------------------------
say "miss: $RUNS runs of get-credential --force-refresh against the fake"
"$plugin" get-credential --cluster-id "${CLUSTERS[0]}" >/dev/null || die "a first fetch failed"
before="$(counts)"
hyperfine -N --warmup 5 --runs "$RUNS" --output=pipe --export-json "$OUT_DIR/miss.json" \
    -n miss "$plugin get-credential --cluster-id ${CLUSTERS[0]} --force-refresh" >/dev/null
after="$(counts)"
requests=$(( $(field requests "$after") - $(field requests "$before") ))
server_us=$(( $(field server_us "$after") - $(field server_us "$before") ))
(( requests == RUNS + 5 )) || die "expected $((RUNS + 5)) requests for the misses, the fake saw $requests"
fake_ms=$(awk -v us="$server_us" -v n="$requests" 'BEGIN { printf "%.2f", us / n / 1000 }')
miss_ms=$(jq -r '.results[0].median * 1000 | . * 100 | round / 100' "$OUT_DIR/miss.json")
overhead_ms=$(awk -v m="$miss_ms" -v f="$fake_ms" 'BEGIN { printf "%.2f", m - f }')
miss_rss=$( { /usr/bin/time -f %M "$plugin" get-credential --cluster-id "${CLUSTERS[0]}" --force-refresh >/dev/null; } 2>&1 )

# ---- storm -----------------------------------------------------------------------------
say "storm: $STORMS times 50 cold processes across ${#CLUSTERS[@]} clusters"
storm_ms=()
for ((s = 0; s < STORMS; s++)); do
    rm -rf "$ACK_CACHE_DIR"
    before="$(counts)"
    start=$(date +%s%N)
    pids=()
    for ((i = 0; i < 50; i++)); do
        "$plugin" get-credential --cluster-id "${CLUSTERS[i % ${#CLUSTERS[@]}]}" >"$work/storm.$i" 2>"$work/storm.$i.err" &
        pids+=($!)
    done
    failed=0
    for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
    end=$(date +%s%N)
    after="$(counts)"
    calls=$(( $(field requests "$after") - $(field requests "$before") ))
    (( failed == 0 )) || die "storm $s: $failed of 50 invocations failed: $(cat "$work"/storm.*.err | head -5)"
    (( calls == ${#CLUSTERS[@]} )) || die "storm $s: expected ${#CLUSTERS[@]} API calls, the fake saw $calls"
    for ((i = 0; i < 50; i++)); do
        cmp -s "$work/storm.$i" "$work/storm.$(( i % ${#CLUSTERS[@]} ))" \
            || die "storm $s: invocation $i printed another credential than the others for its cluster"
    done
    storm_ms+=($(( (end - start) / 1000000 )))
done
storm_median=$(printf '%s\n' "${storm_ms[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')

size=$(stat -c %s "$plugin")
{
    echo "ack-credential-plugin cold paths -- $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r); load before: $(cut -d' ' -f1 /proc/loadavg)"
    echo
    printf '%-44s %10s\n' "miss: median of $RUNS runs" "$miss_ms ms"
    printf '%-44s %10s\n' "  of which the fake's own time (mean)" "$fake_ms ms"
    printf '%-44s %10s\n' "  plugin overhead" "$overhead_ms ms"
    printf '%-44s %10s\n' "miss: peak RSS" "$miss_rss KiB"
    printf '%-44s %10s\n' "storm (50 processes, 5 clusters): median" "$storm_median ms"
    printf '%-44s %10s\n' "  storms / API calls each / failures" "$STORMS / ${#CLUSTERS[@]} / 0"
    printf '%-44s %10s\n' "binary size" "$size bytes"
    echo
    if awk -v o="$overhead_ms" -v max="$MAX_MISS_OVERHEAD_MS" 'BEGIN { exit !(o <= max) }'; then
        echo "PASS  miss overhead $overhead_ms ms (target <= $MAX_MISS_OVERHEAD_MS ms)"
    else
        echo "FAIL  miss overhead $overhead_ms ms (target <= $MAX_MISS_OVERHEAD_MS ms)"
    fi
} | tee "$OUT_DIR/summary.txt"
grep -q '^FAIL' "$OUT_DIR/summary.txt" && exit 1
exit 0
