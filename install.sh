#!/usr/bin/env bash
# Build ack-credential-plugin from this checkout and install it.
#   ./install.sh                 installs into ~/.local/bin
#   PREFIX=/usr/local ./install.sh   installs into /usr/local/bin
#   ACK_PIE=1 ./install.sh           builds a position-independent executable (see below)
set -euo pipefail

cd "$(dirname "$0")"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
    exit 1
fi

# On Linux with glibc the binary is linked statically and not position-independent, like
# kubectl and the Go credential plugins: kubectl starts it on every call, and with neither the
# dynamic loader nor self-relocation a cache hit costs little more than starting /bin/true
# (docs/PERFORMANCE.md measures each variant). The price is that the program image itself is
# not address-randomised (the heap, the stack and other mappings still are); for a
# position-independent build, set ACK_PIE=1. `--target` keeps the flags off build scripts and
# proc-macros, which cannot be static.
host="$(rustc -vV | sed -n 's/^host: //p')"
case "$host" in
    *-linux-gnu)
        flags="-C target-feature=+crt-static"
        [[ "${ACK_PIE:-0}" == 1 ]] || flags="$flags -C relocation-model=static"
        export RUSTFLAGS="${RUSTFLAGS:-} $flags"
        ;;
esac
echo "building ack-credential-plugin (release, $host)..."
cargo build --release --locked --target "$host"

mkdir -p "$bindir"
install -m 0755 "target/$host/release/ack-credential-plugin" "$bindir/ack-credential-plugin"
installed="$bindir/ack-credential-plugin"
"$installed" --version >/dev/null || { echo "install.sh: $installed does not run" >&2; exit 1; }
echo "installed $installed ($("$installed" --version))"

case ":$PATH:" in
    *":$bindir:"*) echo "$bindir is on your PATH" ;;
    *) echo "note: $bindir is not on your PATH; add it (export PATH=\"$bindir:\$PATH\") or use the full path $installed" ;;
esac
