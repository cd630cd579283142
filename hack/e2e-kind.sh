#!/usr/bin/env bash
# End-to-end specs on kind clusters (Ginkgo label "kind"): real nodes in
# Docker, real pods whose kubelet projects the token, an unmodified
# aws-sdk-go-v2 client in a pod listing a bucket through the emulator.
# Needs a running Docker engine (CI starts one with hack/ci-docker.sh).
# Builds the offline node image first when it is missing (cached; see
# hack/kind-node-image.sh); IRSA_LOCAL_KIND_IMAGE runs another image
# instead. Ends with a "kind: N passed, N failed, N skipped" line.
source "$(dirname "$0")/lib.sh"
if ! docker info >/dev/null 2>&1; then
  echo "e2e-kind: no Docker daemon answers (docker info failed); start Docker first" >&2
  exit 1
fi
if [[ -z "${IRSA_LOCAL_KIND_IMAGE:-}" ]]; then
  hack/kind-node-image.sh
fi
run_e2e_label kind 45m
