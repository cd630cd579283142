#!/usr/bin/env bash
# Builds the irsa-local image with `docker build` and no registry:
# irsa-local:<version> and irsa-local:latest, from scratch, holding the
# static binary and the CA bundle of this machine (Debian's
# ca-certificates). Prints the versioned tag.
#
#   IRSA_LOCAL_IMAGE_TAG  tag to build instead of <version>
source "$(dirname "$0")/lib.sh"
if ! docker info >/dev/null 2>&1; then
  echo "image: no Docker daemon answers (docker info failed); start Docker first" >&2
  exit 1
fi
bundle=/etc/ssl/certs/ca-certificates.crt
if [[ ! -s "${bundle}" ]]; then
  echo "image: ${bundle} is missing; install Debian's ca-certificates" >&2
  exit 1
fi
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
tag="irsa-local:${IRSA_LOCAL_IMAGE_TAG:-${version}}"
ctx="$(mktemp -d)"
trap 'rm -rf "${ctx}"' EXIT
# Static and stripped: the image has no C library and no debugger.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/irsa-local/irsa-local/internal/cmd/versioncmd.Version=${version}" \
  -o "${ctx}/irsa-local" ./cmd/irsa-local
cp "${bundle}" "${ctx}/ca-certificates.crt"
mkdir -p "${ctx}/state" "${ctx}/tmp"
chmod 1777 "${ctx}/tmp"
docker build -q -f Dockerfile -t "${tag}" -t irsa-local:latest "${ctx}" >&2
echo "${tag}"
