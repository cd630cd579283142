#!/usr/bin/env bash
# Builds bin/irsa-local.
source "$(dirname "$0")/lib.sh"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
# Statically linked (no cgo): a kind node runs this binary as its EKS Pod
# Identity agent, whatever C library the node has.
CGO_ENABLED=0 go build -ldflags "-X github.com/irsa-local/irsa-local/internal/cmd/versioncmd.Version=${version}" -o bin/irsa-local ./cmd/irsa-local
echo "built bin/irsa-local (${version})"
