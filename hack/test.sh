#!/usr/bin/env bash
# The project's test command: static checks, the Kubernetes binaries the
# local-cluster tests run (built from the Go module proxy when missing:
# about ten minutes cold on 2 cores, nothing to do when built), then the
# unit tests and the e2e suite. The e2e suite leaves out its "tools" specs
# (Terraform, eksctl) unless a label filter selects them: they are
# hack/e2e-tools.sh's. It ends with go test's per-package lines and a
# package count.
source "$(dirname "$0")/lib.sh"
hack/verify.sh
hack/k8s-assets.sh
export KUBEBUILDER_ASSETS="${REPO_ROOT}/bin/k8s"
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
status=0
# The testcontainers module's tests start the irsa-local image: they need
# Docker and make image, and run in hack/e2e-kind.sh.
mapfile -t pkgs < <(go list ./... | grep -v '/pkg/testcontainers/')
go test -count=1 -timeout 30m "${pkgs[@]}" 2>&1 | tee "${log}" || status=$?
passed="$(grep -cE '^ok\s' "${log}" || true)"
failed="$(grep -cE '^FAIL\s' "${log}" || true)"
echo "packages: ${passed} passed, ${failed} failed"
exit "${status}"
