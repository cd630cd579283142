#!/usr/bin/env bash
# Builds the kind node image irsa-local/kind-node:<Kubernetes version> on this
# machine, with no container registry: the root file system comes from the
# Debian mirror apt already uses, kind's node files from kind's Go module,
# and every image the node runs (control plane, kube-proxy, CoreDNS, pause)
# is built here from source and preloaded into the node's containerd.
#
# Clusters made from this image need, in their kind configuration:
#   networking.disableDefaultCNI: true   (pods use the ptp network the image
#                                          carries; there is no kindnetd)
# and, on hosts with cgroup v1, a KubeletConfiguration patch with
#   failCgroupV1: false
# That pod network is one node's: clusters must have a single node.
#
# Intermediate results are kept in ${XDG_CACHE_HOME:-~/.cache}/irsa-local/kind-node,
# and nothing is rebuilt when the image already carries the hash of this
# script, hack/kind-node/ and the versions below. Building the root file
# system the first time needs root (debootstrap).
source "$(dirname "$0")/lib.sh"

KUBE_VERSION=v1.37.2
# kind release whose node files (entrypoint, systemd units, containerd and
# kubelet configuration) the image carries; its own tooling is not used.
KIND_VERSION=v0.33.0
CRICTL_VERSION=v1.36.0
DEBIAN_SUITE=bookworm

IMAGE=irsa-local/kind-node:${KUBE_VERSION}
INPUTS_LABEL=io.irsa-local.kind-node.inputs
PARTS_REPO=irsa-local/kind-node-parts
DATA_DIR=${REPO_ROOT}/hack/kind-node
CACHE_DIR=${XDG_CACHE_HOME:-${HOME}/.cache}/irsa-local/kind-node

log() { echo "kind-node: $*" >&2; }
die() {
	echo "kind-node: error: $*" >&2
	exit 1
}

# ---------------------------------------------------------------------------
# Inputs and up-to-date check

# inputs_hash: identifies everything the image is made from, so an image
# carrying it needs no rebuild.
inputs_hash() {
	{
		echo "${KUBE_VERSION} ${KIND_VERSION} ${CRICTL_VERSION} ${DEBIAN_SUITE}"
		cat "${BASH_SOURCE[0]}"
		local f
		for f in $(cd "${DATA_DIR}" && LC_ALL=C ls); do
			echo "== ${f}"
			cat "${DATA_DIR}/${f}"
		done
	} | sha256sum | cut -c1-16
}

image_label() {
	docker image inspect --format "{{ index .Config.Labels \"${INPUTS_LABEL}\" }}" "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------------------
# Scratch space and clean-up

WORK=""
HASH=""
ROOTFS_IMAGE=""
BUILD_CONTAINER=""
BUILD_TAG=""
ROOTFS_MOUNT_DIR=""

cleanup() {
	if [[ -n "${BUILD_CONTAINER}" ]]; then
		docker rm -f -v "${BUILD_CONTAINER}" >/dev/null 2>&1 || true
	fi
	if [[ -n "${BUILD_TAG}" ]]; then
		# Intermediate names only; on success their layers live on in the image.
		docker rmi "${BUILD_TAG}" "${BUILD_TAG}-images" >/dev/null 2>&1 || true
	fi
	if [[ -n "${ROOTFS_MOUNT_DIR}" && -d "${ROOTFS_MOUNT_DIR}" ]]; then
		# debootstrap mounts /proc and /sys inside its target; a failed run
		# can leave them, and rm must never walk into them.
		unmount_under "${ROOTFS_MOUNT_DIR}"
		rm -rf --one-file-system "${ROOTFS_MOUNT_DIR}"
	fi
	if [[ -n "${WORK}" ]]; then
		rm -rf "${WORK}"
		# Half-written cache entries of a failed run.
		rm -f "${CACHE_DIR}"/*.tmp "${CACHE_DIR}"/bin/*.tmp
	fi
}

unmount_under() {
	local mnt
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r |
		while read -r mnt; do umount -l "${mnt}" || true; done
}

# run LOG CMD...: runs CMD with its output in LOG; on failure shows LOG's end.
run() {
	local out=$1
	shift
	if ! "$@" >"${out}" 2>&1; then
		tail -n 25 "${out}" >&2
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Sources: Kubernetes binaries, Go modules, Debian mirror

kube_bin_dir() {
	local dir
	dir=$(go run ./cmd/irsa-local assets build --node) || die "building the Kubernetes binaries failed"
	dir=$(tail -n 1 <<<"${dir}")
	[[ -x "${dir}/kubelet" && -x "${dir}/kubeadm" ]] || die "no kubelet/kubeadm in ${dir}"
	echo "${dir}"
}

# module_dir MODULE@VERSION: the module's directory in the Go module cache,
# downloaded outside this repository so its go.mod and go.sum stay untouched.
module_dir() {
	local dir
	dir=$(cd "${WORK}" && GOWORK=off go mod download -json "$1" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || true
	[[ -n "${dir}" && -d "${dir}" ]] || die "cannot download Go module $1"
	echo "${dir}"
}

# debian_mirror: the Debian mirror apt on this machine uses for the suite
# (IRSA_LOCAL_DEBIAN_MIRROR wins), else deb.debian.org.
debian_mirror() {
	if [[ -n "${IRSA_LOCAL_DEBIAN_MIRROR:-}" ]]; then
		echo "${IRSA_LOCAL_DEBIAN_MIRROR}"
		return
	fi
	local found="" f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r "${f}" ]] || continue
		# deb822 stanzas: the first enabled "deb" one listing the suite.
		found=$(awk -v suite="${DEBIAN_SUITE}" '
			BEGIN { RS = "" }
			{
				types = ""; uris = ""; suites = ""; enabled = "yes"
				n = split($0, lines, "\n")
				for (i = 1; i <= n; i++) {
					l = lines[i]
					if (l ~ /^#/) continue
					if (sub(/^Types:[ \t]*/, "", l)) types = l
					else if (sub(/^URIs:[ \t]*/, "", l)) uris = l
					else if (sub(/^Suites:[ \t]*/, "", l)) suites = l
					else if (sub(/^Enabled:[ \t]*/, "", l)) enabled = l
				}
				if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " suite " ")) {
					split(uris, u, /[ \t]+/); print u[1]; exit
				}
			}' "${f}")
		[[ -n "${found}" ]] && break
	done
	if [[ -z "${found}" ]]; then
		# One-line format: deb [options] URI SUITE COMPONENTS...
		found=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -e 's/\[[^]]*\]//' |
			awk -v suite="${DEBIAN_SUITE}" '$1 == "deb" && $3 == suite { print $2; exit }')
	fi
	echo "${found:-http://deb.debian.org/debian}"
}

# ---------------------------------------------------------------------------
# Root file system (debootstrap, cached as a tarball and a Docker image)

package_list() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "${DATA_DIR}/packages" | paste -sd, -
}

debootstrap_rootfs() {
	local target=$1 mirror
	mirror=$(debian_mirror)
	log "debootstrap ${DEBIAN_SUITE} from ${mirror} (takes a minute or two)"
	run "${WORK}/debootstrap.log" debootstrap --variant=minbase --include="$(package_list)" \
		"${DEBIAN_SUITE}" "${target}" "${mirror}" ||
		die "debootstrap of ${DEBIAN_SUITE} from ${mirror} failed (its log ends above)"
	unmount_under "${target}"
	# containerd looks for CNI plugins in /opt/cni/bin, Debian installs them
	# in /usr/lib/cni. (Moved here, not in a later image layer, so the image
	# holds them once.)
	mkdir -p "${target}/opt/cni/bin"
	mv "${target}"/usr/lib/cni/* "${target}/opt/cni/bin/"
	rmdir "${target}/usr/lib/cni"
	ln -s /opt/cni/bin "${target}/usr/lib/cni"
	# Package caches, manuals and host identity do not belong in the image;
	# Docker provides /dev, hostname and resolv.conf at run time.
	rm -rf "${target}"/var/cache/apt/archives/*.deb "${target}"/var/lib/apt/lists/* \
		"${target}"/var/cache/apt/*.bin "${target}"/usr/share/man/* "${target}"/usr/share/info/* \
		"${target:?}"/dev/* "${target}"/var/log/* "${target}"/tmp/* "${target}"/etc/hostname
	: >"${target}/etc/resolv.conf"
}

# rootfs_image: sets ROOTFS_IMAGE to a Docker image of the Debian root file
# system, imported from the cached tarball (made first if missing). Not run
# in a subshell, so that clean-up knows about a half-made root file system.
rootfs_image() {
	local key tarball image
	key=$({
		echo "${DEBIAN_SUITE}"
		package_list
		declare -f debootstrap_rootfs
	} | sha256sum | cut -c1-16)
	tarball=${CACHE_DIR}/rootfs-${DEBIAN_SUITE}-${key}.tar
	image=irsa-local/kind-node-rootfs:${key}
	ROOTFS_IMAGE=${image}

	if docker image inspect "${image}" >/dev/null 2>&1; then
		return
	fi
	if [[ ! -s "${tarball}" ]]; then
		[[ ${EUID} -eq 0 ]] || die "building the node root file system needs root (debootstrap); run this once as root"
		if ! command -v debootstrap >/dev/null; then
			log "installing debootstrap"
			run "${WORK}/apt.log" apt-get install -y --no-install-recommends debootstrap ||
				{ run "${WORK}/apt.log" apt-get update && run "${WORK}/apt.log" apt-get install -y --no-install-recommends debootstrap; } ||
				die "cannot install debootstrap"
		fi
		ROOTFS_MOUNT_DIR=$(mktemp -d "${CACHE_DIR}/rootfs.XXXXXX")
		debootstrap_rootfs "${ROOTFS_MOUNT_DIR}"
		tar --numeric-owner -C "${ROOTFS_MOUNT_DIR}" -cf "${tarball}.tmp" . || die "cannot write ${tarball}"
		mv "${tarball}.tmp" "${tarball}"
		rm -rf --one-file-system "${ROOTFS_MOUNT_DIR}"
		ROOTFS_MOUNT_DIR=""
		prune_cache "rootfs-*.tar" "${tarball}"
	fi
	log "importing the root file system into Docker"
	docker import "${tarball}" "${image}" >/dev/null || die "docker import of ${tarball} failed"
	local old
	for old in $(docker images --format '{{.Repository}}:{{.Tag}}' "${image%:*}"); do
		[[ "${old}" == "${image}" ]] || docker rmi "${old}" >/dev/null 2>&1 || true
	done
}

# prune_cache GLOB KEEP: removes cached files matching GLOB except KEEP, so
# the cache holds one generation of each artifact.
prune_cache() {
	local f
	for f in "${CACHE_DIR}"/$1; do
		[[ -e "${f}" && "${f}" != "$2" ]] && rm -f "${f}"
	done
	return 0
}

# ---------------------------------------------------------------------------
# Binaries built here besides the Kubernetes ones (cached)

# pause_binary: the pod sandbox's pause process, from the Kubernetes sources.
pause_binary() {
	local out=${CACHE_DIR}/bin/pause-${KUBE_VERSION} src
	if [[ ! -x "${out}" ]]; then
		command -v gcc >/dev/null || die "gcc is needed to build the pause binary"
		src=$(module_dir "k8s.io/kubernetes@${KUBE_VERSION}")/build/pause/linux/pause.c
		log "building pause"
		mkdir -p "${CACHE_DIR}/bin"
		run "${WORK}/pause.log" gcc -static -O2 -Wall -DVERSION="${KUBE_VERSION}" -o "${out}.tmp" "${src}" ||
			die "compiling ${src} failed (static libc missing? install libc6-dev)"
		strip "${out}.tmp" 2>/dev/null || true
		mv "${out}.tmp" "${out}"
	fi
	echo "${out}"
}

# go_binary NAME PACKAGE VERSION [LDFLAGS]: a static build of a Go command.
go_binary() {
	local name=$1 pkg=$2 version=$3 ldflags=${4:-} out gobin
	out=${CACHE_DIR}/bin/${name}-${version}
	if [[ ! -x "${out}" ]]; then
		log "building ${name} ${version} (takes a few minutes the first time)"
		gobin=${WORK}/gobin-${name}
		mkdir -p "${gobin}" "${CACHE_DIR}/bin"
		(cd "${WORK}" && run "${WORK}/${name}.log" env CGO_ENABLED=0 GOBIN="${gobin}" GOWORK=off \
			go install -trimpath -ldflags="-s -w ${ldflags}" "${pkg}@${version}") ||
			die "building ${pkg}@${version} failed"
		mv "${gobin}/${name}" "${out}"
	fi
	echo "${out}"
}

# ---------------------------------------------------------------------------
# Images the node runs

# required_images KUBEADM: the images kubeadm deploys, one a line.
required_images() {
	"$1" config images list --kubernetes-version "${KUBE_VERSION}" 2>/dev/null ||
		die "kubeadm config images list failed"
}

# images_key: identifies the images the node preloads, so their saved
# tarball survives changes to the rest of the node.
images_key() {
	{
		echo "${KUBE_VERSION} ${ROOTFS_IMAGE}"
		cat "${WORK}/node/kind/etc/containerd/config.toml" "${DATA_DIR}/kube-proxy.Dockerfile" \
			"${DATA_DIR}/kube-proxy-rootfs.sh" "${DATA_DIR}/iptables-wrapper"
		declare -f required_images build_part scratch_part kube_proxy_part build_images_tar pause_binary go_binary
	} | sha256sum | cut -c1-16
}

# build_part NAME DIR DOCKERFILE: builds DIR with DOCKERFILE as
# ${PARTS_REPO}/NAME (a private name; the node gets the real ones).
build_part() {
	local name=$1 dir=$2 tag=${PARTS_REPO}/$1:${HASH}
	printf '%s\n' "$3" >"${dir}/Dockerfile"
	run "${WORK}/build-${name}.log" docker build -t "${tag}" "${dir}" || die "building the ${name} image failed"
	echo "${tag}"
}

# scratch_part NAME BINARY: an image holding only the static BINARY, run
# by name as kubeadm's manifests do.
scratch_part() {
	local dir=${WORK}/part-$1
	mkdir -p "${dir}"
	cp "$2" "${dir}/$1"
	build_part "$1" "${dir}" "FROM scratch
COPY $1 /usr/local/bin/$1
ENV PATH=/usr/local/bin:/usr/bin:/bin"
}

# kube_proxy_part BINARY ROOTFS: the kube-proxy image; the tools it runs
# are picked out of a container of ROOTFS by kube-proxy-rootfs.sh.
kube_proxy_part() {
	local dir=${WORK}/part-kube-proxy
	mkdir -p "${dir}/bin"
	cp "$1" "${dir}/bin/kube-proxy"
	tar -C "${DATA_DIR}" -cf - kube-proxy-rootfs.sh iptables-wrapper |
		docker run --rm -i --entrypoint bash "$2" -c \
			'mkdir /src && tar -C /src -xf - && bash /src/kube-proxy-rootfs.sh /out /src/iptables-wrapper >&2 && tar -C /out -cf - .' \
			>"${dir}/tools.tar" 2>"${WORK}/kube-proxy-rootfs.log" ||
		{
			tail -n 25 "${WORK}/kube-proxy-rootfs.log" >&2
			die "collecting kube-proxy's tools failed"
		}
	build_part kube-proxy "${dir}" "$(cat "${DATA_DIR}/kube-proxy.Dockerfile")"
}

# build_images_tar OUT KUBE_DIR ROOTFS: builds every image the node needs
# and saves them to OUT. Writes the private-name to real-name mapping to
# OUT.tags ("private real" a line).
build_images_tar() {
	local out=$1 kube_dir=$2 rootfs=$3
	local sandbox_image refs ref name part pause coredns coredns_version dir
	local -a parts=()
	local -A built=()
	sandbox_image=$(sed -n 's/^[[:space:]]*sandbox_image[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' \
		"${WORK}/node/kind/etc/containerd/config.toml")
	[[ -n "${sandbox_image}" ]] || die "no sandbox_image in kind's containerd configuration"

	refs=$(required_images "${kube_dir}/kubeadm")
	: >"${out}.tags.tmp"
	for ref in ${refs} "${sandbox_image}"; do
		name=${ref##*/}
		name=${name%%:*}
		if [[ -z "${built[${name}]:-}" ]]; then
			log "building image ${ref}"
			case "${name}" in
			kube-apiserver | kube-controller-manager | kube-scheduler | etcd)
				part=$(scratch_part "${name}" "${kube_dir}/${name}")
				;;
			kube-proxy)
				part=$(kube_proxy_part "${kube_dir}/kube-proxy" "${rootfs}")
				;;
			pause)
				pause=$(pause_binary)
				dir=${WORK}/part-pause
				mkdir -p "${dir}"
				cp "${pause}" "${dir}/pause"
				part=$(build_part pause "${dir}" "FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT [\"/pause\"]")
				;;
			coredns)
				coredns_version=${ref##*:}
				coredns=$(go_binary coredns github.com/coredns/coredns "${coredns_version}")
				dir=${WORK}/part-coredns
				mkdir -p "${dir}"
				cp "${coredns}" "${dir}/coredns"
				part=$(build_part coredns "${dir}" "FROM scratch
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT [\"/coredns\"]")
				;;
			*) die "no recipe for image ${ref}" ;;
			esac
			built[${name}]=${part}
			parts+=("${part}")
		fi
		echo "${built[${name}]} ${ref}" >>"${out}.tags.tmp"
	done

	log "saving images"
	docker save -o "${out}.tmp" "${parts[@]}" || die "docker save failed"
	docker rmi "${parts[@]}" >/dev/null 2>&1 || true
	mv "${out}.tags.tmp" "${out}.tags"
	mv "${out}.tmp" "${out}"
}

# ---------------------------------------------------------------------------
# The node image

# node_context KUBE_DIR: assembles the node image's build context in
# ${WORK}/node from kind's node files, the binaries and hack/kind-node/.
node_context() {
	local kube_dir=$1 kind_dir crictl ctx=${WORK}/node
	kind_dir=$(module_dir "sigs.k8s.io/kind@${KIND_VERSION}")/images/base/files
	[[ -f "${kind_dir}/usr/local/bin/entrypoint" ]] || die "no node files in ${kind_dir}"
	mkdir -p "${ctx}/kind" "${ctx}/bin"
	cp -R "${kind_dir}/usr" "${kind_dir}/kind" "${kind_dir}/etc" "${ctx}/kind/"
	# The module cache is read-only; the image wants scripts 0755, the rest 0644.
	chmod -R u+w,go-w "${ctx}/kind"
	find "${ctx}/kind" -type d -exec chmod 0755 {} +
	find "${ctx}/kind" -type f -exec chmod 0644 {} +
	chmod 0755 "${ctx}"/kind/usr/local/bin/* "${ctx}"/kind/kind/bin/*
	cp "${kube_dir}/kubelet" "${kube_dir}/kubeadm" "${kube_dir}/kubectl" "${ctx}/bin/"
	crictl=$(go_binary crictl sigs.k8s.io/cri-tools/cmd/crictl "${CRICTL_VERSION}" \
		"-X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}")
	cp "${crictl}" "${ctx}/bin/crictl"
	cp "${DATA_DIR}/setup-node.sh" "${DATA_DIR}/10-pod-network.conflist" "${ctx}/"
}

# load_images BASE TAR TAGS OUT: starts containerd in a container of BASE,
# imports the images in TAR under their real names, and commits the result
# as OUT. (Docker cannot run containerd during an image build step.)
load_images() {
	local base=$1 tar=$2 tags=$3 out=$4 private real i
	BUILD_CONTAINER=$(docker run -d --entrypoint sleep --security-opt seccomp=unconfined "${base}" infinity) ||
		die "cannot start a build container from ${base}"
	docker exec "${BUILD_CONTAINER}" bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
	for i in $(seq 1 30); do
		docker exec "${BUILD_CONTAINER}" ctr version >/dev/null 2>&1 && break
		[[ ${i} -lt 30 ]] || die "containerd did not start in the build container"
		sleep 1
	done
	# Layers stay uncompressed: compressing them (--compress-blobs) makes the
	# image a third smaller but its build 80s and every cluster start 2-3s slower.
	run "${WORK}/import.log" docker exec -i "${BUILD_CONTAINER}" \
		ctr -n k8s.io images import --no-unpack - <"${tar}" ||
		die "importing images into the node's containerd failed"
	# containerd names images from a docker save tarball in full.
	while read -r private real; do
		private=docker.io/${private}
		# Pinned images are never garbage-collected by the kubelet.
		docker exec "${BUILD_CONTAINER}" sh -c 'ctr -n k8s.io images tag --force "$1" "$2" &&
			ctr -n k8s.io images label "$2" io.cri-containerd.pinned=pinned' - "${private}" "${real}" >/dev/null ||
			die "cannot tag ${real} in the node's containerd"
	done <"${tags}"
	# shellcheck disable=SC2046 # one argument per private name
	docker exec "${BUILD_CONTAINER}" ctr -n k8s.io images rm $(awk '{ print "docker.io/" $1 }' "${tags}" | sort -u) >/dev/null ||
		die "cannot drop the build-time image names"
	# Nothing reaps containerd once it exits (sleep is PID 1): wait until only
	# its zombie is left.
	docker exec "${BUILD_CONTAINER}" bash -c \
		'pkill -x containerd; for i in $(seq 1 50); do ps -C containerd -o stat= | grep -qv "^Z" || exit 0; sleep 0.2; done; exit 1' ||
		die "containerd did not stop in the build container"
	docker exec "${BUILD_CONTAINER}" bash -c 'rm -rf /tmp/* /run/containerd'
	docker commit "${BUILD_CONTAINER}" "${out}" >/dev/null || die "docker commit failed"
	docker rm -f -v "${BUILD_CONTAINER}" >/dev/null
	BUILD_CONTAINER=""
}

# finish_image BASE: gives BASE kind's start command and stop signal (which
# docker commit cannot set) and the inputs label, as ${IMAGE}.
finish_image() {
	local dir=${WORK}/final
	mkdir -p "${dir}"
	cat >"${dir}/Dockerfile" <<EOF
FROM $1
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
# systemd stops on SIGRTMIN+3; SIGTERM would make it re-execute itself.
STOPSIGNAL SIGRTMIN+3
LABEL ${INPUTS_LABEL}=${HASH}
# irsa-local turns kind's default CNI (kindnetd) off for images so labelled.
LABEL io.irsa-local.kind-node=${KUBE_VERSION}
EOF
	run "${WORK}/build-final.log" docker build -t "${IMAGE}" "${dir}" || die "tagging ${IMAGE} failed"
}

main() {
	command -v docker >/dev/null || die "docker is not installed"
	command -v go >/dev/null || die "go is not installed"
	docker info >/dev/null 2>&1 || die "cannot reach the Docker daemon"

	HASH=$(inputs_hash)
	if [[ "$(image_label "${IMAGE}")" == "${HASH}" ]]; then
		log "${IMAGE} is up to date"
		return
	fi

	mkdir -p "${CACHE_DIR}"
	# One build at a time per cache; a concurrent run waits, then finds the
	# image built.
	exec 9>"${CACHE_DIR}/.lock"
	if ! flock -n 9; then
		log "waiting for another build of the node image"
		flock 9
	fi
	if [[ "$(image_label "${IMAGE}")" == "${HASH}" ]]; then
		log "${IMAGE} is up to date"
		return
	fi

	local start=${SECONDS} old_id kube_dir images_tar
	old_id=$(docker image inspect --format '{{.Id}}' "${IMAGE}" 2>/dev/null || true)
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/kind-node.XXXXXX")
	trap cleanup EXIT

	log "building ${IMAGE} (inputs ${HASH})"
	kube_dir=$(kube_bin_dir)
	rootfs_image

	log "building the node layer"
	node_context "${kube_dir}"
	BUILD_TAG=irsa-local/kind-node-build:${HASH}
	run "${WORK}/build-node.log" docker build --build-arg ROOTFS="${ROOTFS_IMAGE}" \
		--build-arg KUBE_VERSION="${KUBE_VERSION}" -f "${DATA_DIR}/node.Dockerfile" \
		-t "${BUILD_TAG}" "${WORK}/node" || die "building the node layer failed"

	images_tar=${CACHE_DIR}/images-$(images_key).tar
	if [[ ! -s "${images_tar}" || ! -s "${images_tar}.tags" ]]; then
		build_images_tar "${images_tar}" "${kube_dir}" "${ROOTFS_IMAGE}"
		prune_cache "images-*.tar" "${images_tar}"
		prune_cache "images-*.tar.tags" "${images_tar}.tags"
	fi

	log "loading images into the node's containerd"
	load_images "${BUILD_TAG}" "${images_tar}" "${images_tar}.tags" "${BUILD_TAG}-images"
	finish_image "${BUILD_TAG}-images"
	if [[ -n "${old_id}" && "${old_id}" != "$(docker image inspect --format '{{.Id}}' "${IMAGE}")" ]]; then
		# The previous build, unless a cluster still uses it.
		docker rmi "${old_id}" >/dev/null 2>&1 || true
	fi
	log "built ${IMAGE} in $((SECONDS - start))s"
}

main "$@"
