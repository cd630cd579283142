#!/usr/bin/env bash
# End-to-end specs that need Docker: kind clusters (Ginkgo label "kind"):
# real nodes, real pods whose kubelet projects the token, unmodified
# aws-sdk-go-v2 clients in pods; the backend in a container (label
# "container"), moto's image run through testcontainers-go; and the
# testcontainers module pkg/testcontainers/irsalocal against the image
# make image builds.
# Needs a running Docker engine (CI starts one with hack/ci-docker.sh).
# Builds the offline node image first when it is missing (cached; see
# hack/kind-node-image.sh); IRSA_LOCAL_KIND_IMAGE runs another image
# instead. Ends with a "kind || container: N passed, N failed, N skipped"
# line.
source "$(dirname "$0")/lib.sh"
if ! docker info >/dev/null 2>&1; then
  echo "e2e-kind: no Docker daemon answers (docker info failed); start Docker first" >&2
  exit 1
fi
if [[ -z "${IRSA_LOCAL_KIND_IMAGE:-}" ]]; then
  hack/kind-node-image.sh
fi
# The container backend's spec runs moto's image, assembled offline.
hack/moto-image.sh
# The module's tests, against this checkout's image. Ryuk's image cannot
# be pulled offline, and where /.dockerenv exists testcontainers-go would
# dial the default gateway rather than the published ports.
image="$(hack/image.sh)"
IRSA_LOCAL_IMAGE="${image}" TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=localhost \
  go test -count=1 -timeout 10m ./pkg/testcontainers/...
run_e2e_label 'kind || container' 45m
