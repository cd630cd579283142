#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl into
# bin/k8s/ of this checkout, where tests and the local cluster find them.
# The build itself is `irsa-local assets build`, so there is one recipe; it
# does nothing when bin/k8s already holds the right versions.
source "$(dirname "$0")/lib.sh"
go run ./cmd/irsa-local assets build --dir bin/k8s >/dev/null
