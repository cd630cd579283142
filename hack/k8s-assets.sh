#!/usr/bin/env bash
# Installs etcd, kube-apiserver, kube-controller-manager and kubectl into
# bin/k8s/ of this checkout, where tests and the local cluster find them:
# the checked release binaries where the release servers answer, else a
# source build (IRSA_LOCAL_ASSETS_FROM and IRSA_LOCAL_RELEASE_MIRROR choose).
# It is `irsa-local assets build`, so there is one recipe; it does nothing
# when bin/k8s already holds the right versions.
source "$(dirname "$0")/lib.sh"
# bin/irsa-local is built first (nothing to do when current), so the
# compile is reported instead of hidden inside go run.
hack/build.sh >/dev/null
bin/irsa-local assets build --dir bin/k8s >/dev/null
