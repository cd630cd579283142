#!/usr/bin/env bash
# Builds irsa-local/moto:<version>, a container image of moto_server for
# the gateway's container backend (--backend container:moto), offline: no
# registry is reachable, so the image is assembled from the moto installed
# on this machine. hack/moto-trace.py serves the six forwarded services
# once and lists the modules moto loads; the image holds the Python
# runtime, its standard library, the packages those modules belong to, and
# the shared libraries all of them link, at their paths on this machine,
# imported with `docker import`. Nothing is built when the image exists.
source "$(dirname "$0")/lib.sh"
python="$(command -v python3)"
if ! "${python}" -c 'import moto.server' 2>/dev/null; then
  echo "moto-image: python3 cannot import moto.server; install moto[server] first" >&2
  exit 1
fi
version="$("${python}" -c 'import moto; print(moto.__version__)')"
# The revision after the version changes whenever the image does: r2 no
# longer fixes MOTO_ACCOUNT_ID, so the gateway's per-call account holds.
image="irsa-local/moto:${version}-r2"
if docker image inspect "${image}" >/dev/null 2>&1; then
  echo "moto-image: ${image} is built"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
rootfs="${work}/rootfs"
mkdir -p "${rootfs}/tmp"
chmod 1777 "${rootfs}/tmp"

read -r prefix exe pyver site < <("${python}" -c 'import sys, sysconfig; print(sys.prefix, sys.executable, "python%d.%d" % sys.version_info[:2], sysconfig.get_paths()["purelib"])')
exe="$(readlink -f "${exe}")"
echo "moto-image: moto ${version} from ${site}"
"${python}" "${REPO_ROOT}/hack/moto-trace.py" >"${work}/files" 2>"${work}/trace.log"

copy() { # copy PATH... into the root file system at the same place
  for p in "$@"; do
    mkdir -p "${rootfs}$(dirname "${p}")"
    cp -a "${p}" "${rootfs}$(dirname "${p}")/"
  done
}
copy "${exe}"
ln -s "$(basename "${exe}")" "${rootfs}$(dirname "${exe}")/python3"
copy "${prefix}/lib/lib${pyver}.so"* 2>/dev/null || true
# The standard library without its tests and GUI parts.
mkdir -p "${rootfs}${prefix}/lib/${pyver}"
tar -C "${prefix}/lib/${pyver}" --exclude=./site-packages --exclude=./test --exclude=./idlelib \
  --exclude=./tkinter --exclude=./turtledemo --exclude=./ensurepip --exclude=./lib2to3 \
  --exclude='./lib-dynload/_tkinter*' -cf - . |
  tar -C "${rootfs}${prefix}/lib/${pyver}" -xf -
# The packages of the modules moto loaded, with their metadata.
grep "^${site}/" "${work}/files" | sed -e "s#^${site}/##" -e 's#/.*##' | sort -u >"${work}/tops"
mkdir -p "${rootfs}${site}"
while read -r top; do
  copy "${site}/${top}"
  name="${top%.py}"
  for meta in "${site}/${name}"-*.dist-info "${site}/${name//_/-}"-*.dist-info; do
    [[ -e "${meta}" ]] && copy "${meta}"
  done
done <"${work}/tops"
# moto_server's own entry point, for the metadata-based version lookups.
for meta in "${site}"/moto-*.dist-info; do copy "${meta}"; done
# Every shared library the interpreter and the copied extensions link.
find "${rootfs}" -name '*.so*' -type f >"${work}/objects"
echo "${rootfs}${exe}" >>"${work}/objects"
while read -r obj; do
  ldd "${obj}" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\/lib/{print $1}'
done <"${work}/objects" | sort -u >"${work}/libs"
while read -r lib; do
  [[ -e "${rootfs}${lib}" ]] || copy "$(readlink -f "${lib}")"
  real="$(readlink -f "${lib}")"
  if [[ "${real}" != "${lib}" && ! -e "${rootfs}${lib}" ]]; then
    mkdir -p "${rootfs}$(dirname "${lib}")"
    ln -s "${real}" "${rootfs}${lib}"
  fi
done <"${work}/libs"

size="$(du -sm "${rootfs}" | cut -f1)"
echo "moto-image: importing ${image} (${size} MB)"
tar -C "${rootfs}" -cf - . | docker import \
  --change "ENTRYPOINT [\"$(dirname "${exe}")/python3\", \"-m\", \"moto.server\"]" \
  --change 'CMD ["-H", "0.0.0.0", "-p", "5000"]' \
  --change 'EXPOSE 5000' \
  - "${image}" >/dev/null
# It must serve before it is kept.
cid="$(docker run -d --rm -p 127.0.0.1::5000 "${image}")"
port="$(docker port "${cid}" 5000/tcp | head -1 | sed 's/.*://')"
ok=0
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:${port}/moto-api/data.json" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.5
done
docker logs "${cid}" >"${work}/run.log" 2>&1 || true
docker stop "${cid}" >/dev/null
if ((ok == 0)); then
  docker image rm "${image}" >/dev/null
  echo "moto-image: ${image} did not serve; its log:" >&2
  cat "${work}/run.log" >&2
  exit 1
fi
echo "moto-image: ${image} serves"
