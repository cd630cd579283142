#!/usr/bin/env bash
# Builds bin/irsa-local.
source "$(dirname "$0")/lib.sh"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
go build -ldflags "-X github.com/irsa-local/irsa-local/internal/cmd/versioncmd.Version=${version}" -o bin/irsa-local ./cmd/irsa-local
echo "built bin/irsa-local (${version})"
