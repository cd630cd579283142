#!/usr/bin/env bash
# Builds helm from its Go module (the Go module proxy is reachable where
# release downloads are not) into a cache outside the clone and prints the
# binary's path. Later clones on the same machine reuse it. About two
# minutes of 2 cores the first time (measured: 130 s with a used build
# cache).
#
#   HELM_VERSION    the release to build (default v4.3.2)
#   XDG_CACHE_HOME  the cache root (default ~/.cache); the binary goes to
#                   $XDG_CACHE_HOME/irsa-local/tools/helm-<version>/helm
source "$(dirname "$0")/lib.sh"
version="${HELM_VERSION:-v4.3.2}"
dir="${XDG_CACHE_HOME:-${HOME}/.cache}/irsa-local/tools/helm-${version}"
bin="${dir}/helm"
mkdir -p "${dir}"
# One build at a time per version; whoever waits finds the binary made.
exec 9>"${dir}.lock"
flock 9
if [[ -x "${bin}" ]]; then
  echo "${bin}"
  exit 0
fi
echo "building helm ${version} (takes minutes)" >&2
start=${SECONDS}
# go install outside this module, so its go.mod and go.sum stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT
(cd "${scratch}" && CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="${scratch}/bin" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@${version}")
mv "${scratch}/bin/helm" "${bin}.tmp"
mv "${bin}.tmp" "${bin}"
echo "built ${bin} in $((SECONDS - start)) s" >&2
echo "${bin}"
