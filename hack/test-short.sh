#!/usr/bin/env bash
# The fast inner loop: static checks and the unit tests with -short, which
# skips what needs the Kubernetes binaries (the local-cluster tests and
# examples) and leaves out the e2e suite. make test runs everything.
source "$(dirname "$0")/lib.sh"
hack/verify.sh
mapfile -t pkgs < <(go list ./... | grep -v '/e2e')
go test -short -skip '_localCluster$' "${pkgs[@]}"
