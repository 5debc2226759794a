#!/bin/sh
# Installs what the Docker tests need on Debian: the engine (docker.io),
# the registry (docker-registry) and a static busybox for shell images. The
# tests start dockerd and the registry themselves (see dockerenv.go), with:
#   dockerd --host unix://$DIR/docker.sock --data-root $DIR/data --exec-root $DIR/exec \
#     --pidfile $DIR/dockerd.pid --iptables=false --ip-forward=false --ip-masq=false \
#     --bridge=none --storage-driver overlay2   # then fuse-overlayfs, then vfs
#   docker-registry serve $DIR/registry/config.yml   # http.addr 127.0.0.1:<free port>
# where DIR is $SLIPWAY_DOCKERENV_DIR or /tmp/slipway-dockerenv.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -q
apt-get -o DPkg::Lock::Timeout=300 install -y -q docker.io docker-registry busybox-static
