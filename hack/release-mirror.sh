#!/usr/bin/env bash
# Writes the binaries of bin/k8s (make k8s-assets) into DIR in the layout
# `irsa-local assets build` downloads from — Kubernetes' release tree with a
# .sha256 per binary, and etcd's archive with its SHA256SUMS under etcd/ —
# so that any static file server over DIR is a release mirror for other
# machines (IRSA_LOCAL_RELEASE_MIRROR=http://host:port). For example:
#   hack/release-mirror.sh /srv/k8s-mirror && python3 -m http.server -d /srv/k8s-mirror 8080
source "$(dirname "$0")/lib.sh"
out="${1:?usage: hack/release-mirror.sh DIR}"
hack/k8s-assets.sh
k8s_version="$(bin/k8s/kube-apiserver --version | awk '{print $2}')"
etcd_version="v$(bin/k8s/etcd --version | sed -nE 's/^etcd Version: (.*)$/\1/p')"
arch="$(go env GOARCH)"
bindir="${out}/release/${k8s_version}/bin/linux/${arch}"
mkdir -p "${bindir}" "${out}/etcd/${etcd_version}"
for name in kube-apiserver kube-controller-manager kubectl; do
  cp bin/k8s/"${name}" "${bindir}/${name}"
  sha256sum "${bindir}/${name}" | awk '{print $1}' >"${bindir}/${name}.sha256"
done
stage="$(mktemp -d)"
trap 'rm -rf "${stage}"' EXIT
pkg="etcd-${etcd_version}-linux-${arch}"
mkdir "${stage}/${pkg}"
cp bin/k8s/etcd "${stage}/${pkg}/etcd"
tar -C "${stage}" -czf "${out}/etcd/${etcd_version}/${pkg}.tar.gz" "${pkg}"
(cd "${out}/etcd/${etcd_version}" && sha256sum "${pkg}.tar.gz" >SHA256SUMS)
echo "release mirror of Kubernetes ${k8s_version} and etcd ${etcd_version} in ${out}"
