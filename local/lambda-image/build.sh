#!/usr/bin/env bash
# Build the python3.12 Lambda base image that `sam local` runs functions in, offline.
#
# Why: SAM pulls public.ecr.aws/lambda/python:3.12-x86_64 from a registry that is not
# reachable here (nor in CI). This builds an equivalent image from Debian packages
# (debootstrap), pyenv's CPython 3.12 and PyPI wheels (awslambdaric, boto3), and tags it
# with the name SAM looks for, so `sam local invoke/start-api --skip-pull-image` just work.
# It is Debian + CPython, not Amazon Linux 2023: fine for pure-Python and manylinux wheels.
#
# Idempotent: the image carries a label with a hash of everything that goes into it; when
# the tagged image has the same hash the script exits at once. The debootstrap result is
# cached under local/lambda-image/build/ (gitignored).
#
# Needs root (debootstrap, chroot). As root it installs docker.io, debootstrap and patchelf
# when missing and starts dockerd when no engine answers.
#
# Environment: PY312 (a CPython 3.12 interpreter to copy; default: pyenv's newest 3.12),
# DEBIAN_MIRROR (default: the mirror apt uses here), LAMBDA_IMAGE (default: the SAM name).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build_dir="$here/build"
image=${LAMBDA_IMAGE:-public.ecr.aws/lambda/python:3.12-x86_64}
suite=bookworm
label=io.keyguard.lambda-image.hash
# Shared libraries CPython's extension modules load, plus certificates and time zones.
packages=(libssl3 libffi8 libsqlite3-0 libbz2-1.0 liblzma5 zlib1g libreadline8 libncursesw6 libuuid1
    libexpat1 libcrypt1 libnsl2 libtirpc3 ca-certificates tzdata)

log() { printf 'lambda-image: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}

# --- the interpreter to copy ------------------------------------------------------------------
find_python() {
    if [[ -n ${PY312:-} ]]; then
        echo "$PY312"
        return
    fi
    local candidate
    candidate=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n $candidate ]]; then
        echo "$candidate"
        return
    fi
    command -v python3.12 || true
}
py=$(find_python)
[[ -n $py ]] || die "no CPython 3.12 found: install one (pyenv install 3.12) or set PY312"
py_prefix=$("$py" -c 'import sys; print(sys.base_prefix)')
py_version=$("$py" -c 'import sys; print(sys.version.split()[0])')
[[ $py_version == 3.12.* ]] || die "$py is Python $py_version, need 3.12"
[[ $py_prefix != /usr ]] || die "$py is a distribution Python (prefix /usr); use a self-contained one such as pyenv's"
[[ -f $py_prefix/lib/libpython3.12.so.1.0 ]] || die "$py_prefix has no libpython3.12.so.1.0 (build it with --enable-shared)"

# --- skip when the image is current -----------------------------------------------------------
content_hash=$(
    {
        cat "$here/build.sh" "$here/bootstrap" "$here/runtime-requirements.txt"
        echo "$py_version $py_prefix ${packages[*]} $suite"
    } | sha256sum | cut -c1-16
)

engine_ready() { docker info >/dev/null 2>&1; }
if ! engine_ready; then
    "$here/engine.sh"
fi
current=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [[ $current == "$content_hash" ]]; then
    log "$image is up to date ($content_hash)"
    exit 0
fi

# --- tools ------------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "building $image needs root (debootstrap, chroot); run: sudo $0"
missing=()
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v patchelf >/dev/null 2>&1 || missing+=(patchelf)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
    mirror=$(grep -hoE '^URIs: *http[^ ]*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | sed 's/^URIs: *//' || true)
fi
if [[ -z $mirror ]]; then
    mirror=$(grep -hoE '^deb +http[^ ]*/debian/? ' /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $2}' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

# --- the Debian root file system (cached) -----------------------------------------------------
mkdir -p "$build_dir"
base_key=$(echo "$suite ${packages[*]}" | sha256sum | cut -c1-12)
base_tar="$build_dir/debootstrap-$suite-$base_key.tar"
start=$SECONDS
if [[ ! -f $base_tar ]]; then
    log "debootstrap $suite from $mirror (cached afterwards in $base_tar)"
    rm -rf "$build_dir/debootstrap"
    include=$(
        IFS=,
        echo "${packages[*]}"
    )
    debootstrap --variant=minbase --include="$include" "$suite" "$build_dir/debootstrap" "$mirror" \
        >"$build_dir/debootstrap.log" 2>&1 || {
        tail -n 20 "$build_dir/debootstrap.log" >&2
        die "debootstrap failed (full log: $build_dir/debootstrap.log)"
    }
    # apt caches and lists are not needed at run time.
    rm -rf "$build_dir/debootstrap/var/cache/apt/archives/"*.deb "$build_dir/debootstrap/var/lib/apt/lists/"*
    tar -C "$build_dir/debootstrap" -cf "$base_tar.tmp" .
    mv "$base_tar.tmp" "$base_tar"
    rm -rf "$build_dir/debootstrap"
fi

rootfs="$build_dir/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"
tar -C "$rootfs" -xf "$base_tar"

# --- CPython at /var/lang, as in AWS's image --------------------------------------------------
log "copying Python $py_version from $py_prefix to /var/lang"
mkdir -p "$rootfs/var/lang" "$rootfs/var/runtime" "$rootfs/var/task" "$rootfs/opt"
tar -C "$py_prefix" \
    --exclude='./lib/python3.12/test' --exclude='./lib/python3.12/idlelib' \
    --exclude='./lib/python3.12/tkinter' --exclude='./lib/python3.12/turtledemo' \
    --exclude='./lib/python3.12/site-packages/*' --exclude='__pycache__' --exclude='*.pyc' \
    --exclude='./lib/python3.12/config-3.12-x86_64-linux-gnu/*.a' --exclude='./lib/pkgconfig' \
    --exclude='./include' --exclude='./share' \
    -cf - . | tar -C "$rootfs/var/lang" -xf -
# pyenv links the interpreter with an absolute RUNPATH to its own prefix.
patchelf --set-rpath '$ORIGIN/../lib' "$rootfs/var/lang/bin/python3.12"
# Scripts in bin/ name the host prefix in their shebang.
for script in "$rootfs"/var/lang/bin/*; do
    if [[ -f $script && ! -L $script ]] && head -c 2 "$script" | grep -q '#!'; then
        sed -i "1s|^#!$py_prefix/bin/|#!/var/lang/bin/|" "$script"
    fi
done

# --- the runtime interface client and boto3 at /var/runtime ------------------------------------
log "installing $(grep -vE '^\s*(#|$)' "$here/runtime-requirements.txt" | tr '\n' ' ')into /var/runtime"
"$py" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --no-compile \
    --target "$rootfs/var/runtime" --platform manylinux2014_x86_64 --python-version 3.12 \
    --implementation cp --only-binary=:all: -r "$here/runtime-requirements.txt"
rm -rf "$rootfs/var/runtime/bin"
install -m 0755 "$here/bootstrap" "$rootfs/var/runtime/bootstrap"

# Compile .pyc inside the image, or every cold start recompiles the standard library.
# In a chroot without /proc `$ORIGIN` does not resolve: name the library directory.
log "precompiling bytecode"
chroot "$rootfs" /usr/bin/env LD_LIBRARY_PATH=/var/lang/lib /var/lang/bin/python3.12 -m compileall \
    -q -j 0 /var/lang/lib/python3.12 /var/runtime >/dev/null

# --- import -----------------------------------------------------------------------------------
log "importing $image"
tar -C "$rootfs" -c . | docker import \
    --change "LABEL $label=$content_hash" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV TZ=:/etc/localtime' \
    --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
    --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
    --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
    --change 'WORKDIR /var/task' \
    - "$image" >/dev/null
rm -rf "$rootfs"

# SAM builds its emulator images on top of the base once and afterwards only checks that they
# exist: drop them so the next `sam local` rebuilds them on the new base.
stale=$(docker images --format '{{.Repository}}:{{.Tag}}' |
    grep -E '^(public\.ecr\.aws/lambda/python:3\.12-rapid-|samcli/lambda-python:3\.12-)' || true)
if [[ -n $stale ]]; then
    # shellcheck disable=SC2086
    docker rmi -f $stale >/dev/null || true
fi

size=$(docker image inspect -f '{{.Size}}' "$image")
log "built $image ($content_hash, $((size / 1024 / 1024)) MB) in $((SECONDS - start)) s"
