#!/usr/bin/env bash
# Build ack-credential-plugin from this checkout and install it.
#   ./install.sh                     installs into ~/.local/bin
#   PREFIX=/usr/local ./install.sh   installs into /usr/local/bin
#   ACK_PIE=1 ./install.sh           builds a position-independent executable (see below)
#   ACK_LIBC=gnu ./install.sh        builds against glibc even where musl is available
set -euo pipefail

cd "$(dirname "$0")"
prefix="${PREFIX:-$HOME/.local}"
bindir="$prefix/bin"

if ! command -v cargo >/dev/null 2>&1; then
    echo "install.sh: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
    exit 1
fi

# kubectl starts the plugin on every call, so how the binary starts matters more than anything
# it does (docs/PERFORMANCE.md measures each variant):
# - On Linux it is linked statically and not position-independent, like kubectl and the Go
#   credential plugins: no dynamic loader, no self-relocation. The price is that the program
#   image itself is not address-randomised (the heap, the stack and other mappings still are);
#   ACK_PIE=1 gives a static position-independent build instead.
# - Against musl when Rust's musl target is installed (`rustup target add
#   x86_64-unknown-linux-musl`, or the aarch64 one) and a C compiler for it is there (Debian:
#   musl-tools): glibc's start-up probes the CPU (dozens of CPUID instructions, slow on virtual
#   machines) before main, musl does not. Otherwise against glibc, as before.
# `--target` keeps the flags off build scripts and proc-macros, which cannot be static.
host="$(rustc -vV | sed -n 's/^host: //p')"
target="$host"
libc=""
case "$host" in
    *-linux-gnu)
        musl="${host%-gnu}-musl"
        arch="${host%%-*}"
        if [[ "${ACK_LIBC:-}" != gnu ]] \
            && rustup target list --installed 2>/dev/null | grep -qx "$musl" \
            && { command -v "$arch-linux-musl-gcc" >/dev/null 2>&1 || command -v musl-gcc >/dev/null 2>&1; }; then
            target="$musl"
            libc="musl"
            # ring's C and assembly are compiled for the target: name the musl compiler for cc.
            if ! command -v "$arch-linux-musl-gcc" >/dev/null 2>&1; then
                cc_var="CC_${musl//-/_}"
                export "$cc_var"="${!cc_var:-musl-gcc}"
            fi
        else
            libc="glibc"
            if [[ "${ACK_LIBC:-}" != gnu ]]; then
                echo "install.sh: note: building against glibc; for a faster start install the musl target" \
                    "(rustup target add $musl) and a musl C compiler (Debian/Ubuntu: apt install musl-tools)" >&2
            fi
        fi
        flags="-C target-feature=+crt-static"
        [[ "${ACK_PIE:-0}" == 1 ]] || flags="$flags -C relocation-model=static"
        export RUSTFLAGS="${RUSTFLAGS:-} $flags"
        ;;
esac
linking="static${libc:+, $libc}"
[[ -z "$libc" ]] && linking="the platform's default linking"
[[ -n "$libc" && "${ACK_PIE:-0}" == 1 ]] && linking="$linking, position-independent"
[[ -n "$libc" && "${ACK_PIE:-0}" != 1 ]] && linking="$linking, not position-independent"
echo "building ack-credential-plugin (release, $target: $linking)..."
cargo build --release --locked --target "$target"

mkdir -p "$bindir"
install -m 0755 "target/$target/release/ack-credential-plugin" "$bindir/ack-credential-plugin"
installed="$bindir/ack-credential-plugin"
"$installed" --version >/dev/null || { echo "install.sh: $installed does not run" >&2; exit 1; }
echo "installed $installed ($("$installed" --version); $target, $linking)"

case ":$PATH:" in
    *":$bindir:"*) echo "$bindir is on your PATH" ;;
    *) echo "note: $bindir is not on your PATH; add it (export PATH=\"$bindir:\$PATH\") or use the full path $installed" ;;
esac
