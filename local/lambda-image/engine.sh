#!/usr/bin/env bash
# Make sure a Docker engine answers, so `sam local` can run functions.
#
# CI machines start fresh: nothing is installed by hand and no daemon runs. As root this
# installs docker.io from Debian when `dockerd` is missing and starts `dockerd` in the
# background; without root it says exactly what is missing and fails (never a silent skip).
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        log "no Docker engine: install docker.io (apt-get install -y docker.io) as root, or start Docker"
        exit 1
    fi
    log "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [[ $(id -u) -ne 0 ]]; then
    log "dockerd is installed but no engine answers; start it as root (dockerd &) or ask an admin"
    exit 1
fi

log_file=${DOCKERD_LOG:-/var/log/dockerd-keyguard.log}
log "starting dockerd (log: $log_file)"
# setsid: the daemon must outlive the make/pytest process that started it.
setsid nohup dockerd >"$log_file" 2>&1 </dev/null &

for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        log "engine ready"
        exit 0
    fi
    sleep 0.5
done
log "dockerd did not answer within 60 s; last lines of $log_file:"
tail -n 20 "$log_file" >&2 || true
exit 1
