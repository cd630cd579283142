#!/usr/bin/env bash
# Builds bin/irsa-local and bin/irsa-local-serve, the serving process
# `up` starts (the same serve command, without the CLI's AWS SDK clients).
source "$(dirname "$0")/lib.sh"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
# Statically linked (no cgo): a kind node runs this binary as its EKS Pod
# Identity agent, whatever C library the node has.
CGO_ENABLED=0 go build -ldflags "-X github.com/irsa-local/irsa-local/internal/cmd/versioncmd.Version=${version}" -o bin/ ./cmd/irsa-local ./cmd/irsa-local-serve &
build=$!
# A cold build (empty Go caches) takes minutes: say so every 10 s, on
# stderr, so a terminal is never silent for long.
start=$(date +%s)
(while sleep 10; do echo "build: still compiling irsa-local after $(($(date +%s) - start)) s" >&2; done) &
ticker=$!
status=0
wait "${build}" || status=$?
kill "${ticker}" 2>/dev/null || true
((status == 0)) || exit "${status}"
echo "built bin/irsa-local and bin/irsa-local-serve (${version})"
