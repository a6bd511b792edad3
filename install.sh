#!/usr/bin/env bash
# Build ack-credential-plugin from this checkout and install it.
#   ./install.sh                 installs into ~/.local/bin
#   PREFIX=/usr/local ./install.sh   installs into /usr/local/bin
set -euo pipefail

cd "$(dirname "$0")"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
    exit 1
fi

echo "building ack-credential-plugin (release)..."
cargo build --release --locked

mkdir -p "$bindir"
install -m 0755 target/release/ack-credential-plugin "$bindir/ack-credential-plugin"
installed="$bindir/ack-credential-plugin"
"$installed" --version >/dev/null || { echo "install.sh: $installed does not run" >&2; exit 1; }
echo "installed $installed ($("$installed" --version))"

case ":$PATH:" in
    *":$bindir:"*) echo "$bindir is on your PATH" ;;
    *) echo "note: $bindir is not on your PATH; add it (export PATH=\"$bindir:\$PATH\") or use the full path $installed" ;;
esac
