#!/usr/bin/env bash
# Installs Docker from Debian's packages and starts dockerd, for the kind
# suite on a CI machine. Run only in CI or by name: it changes the machine's
# Docker configuration.
#
# The sandboxes these CI machines run in lack CAP_SYS_RESOURCE in their
# capability bounding set, so runc cannot start a privileged container (kind
# nodes are privileged): "unable to apply caps: operation not permitted".
# A wrapper, registered as Docker's default runtime, drops that one
# capability from the container's spec (create) and process file (exec),
# then runs the real runc. A user's machine needs none of this.
set -euo pipefail

if [[ "${CI:-}" != "true" && "${IRSA_LOCAL_CI_DOCKER:-}" != "1" ]]; then
	echo "ci-docker.sh changes this machine's Docker configuration; run it with CI=true or IRSA_LOCAL_CI_DOCKER=1" >&2
	exit 2
fi

if ! command -v dockerd >/dev/null || ! command -v jq >/dev/null; then
	echo "ci-docker: installing docker.io and jq from Debian's packages" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends docker.io jq >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y --no-install-recommends docker.io jq >/dev/null; }
fi

wrapper=/usr/local/sbin/runc-ci-nosysresource
cat >"$wrapper.tmp" <<'WRAP'
#!/bin/sh
# Drops CAP_SYS_RESOURCE from a container's capabilities, then runs runc;
# written by irsa-local's hack/ci-docker.sh for sandboxes without it.
strip() {
	[ -f "$1" ] || return 0
	jq '(.. | objects | select(has("bounding") or has("effective") or has("permitted")) | .[]?) |= (if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)' "$1" >"$1.nosr" && mv "$1.nosr" "$1"
}
cmd="" bundle="" process="" prev=""
for a in "$@"; do
	case "$prev" in
	--bundle | -b) bundle=$a ;;
	--process | -p) process=$a ;;
	esac
	case "$a" in
	--bundle=*) bundle=${a#--bundle=} ;;
	--process=*) process=${a#--process=} ;;
	create | run | exec) [ -z "$cmd" ] && cmd=$a ;;
	esac
	prev=$a
done
case "$cmd" in
create | run) strip "${bundle:-.}/config.json" ;;
exec) [ -n "$process" ] && strip "$process" ;;
esac
exec /usr/sbin/runc "$@"
WRAP
chmod 0755 "$wrapper.tmp"
mv "$wrapper.tmp" "$wrapper"

mkdir -p /etc/docker
want=$(jq -n --arg p "$wrapper" '{"default-runtime": "runc-ci", runtimes: {"runc-ci": {path: $p}}}')
if [[ ! -f /etc/docker/daemon.json ]] || [[ "$(jq -S . /etc/docker/daemon.json)" != "$(jq -S . <<<"$want")" ]]; then
	echo "$want" >/etc/docker/daemon.json.tmp && mv /etc/docker/daemon.json.tmp /etc/docker/daemon.json
	if pgrep -x dockerd >/dev/null; then
		echo "ci-docker: restarting dockerd for the new runtime" >&2
		pkill -x dockerd
		for _ in $(seq 50); do pgrep -x dockerd >/dev/null || break; sleep 0.2; done
	fi
fi

if ! docker info >/dev/null 2>&1; then
	echo "ci-docker: starting dockerd" >&2
	nohup dockerd >/var/log/dockerd.log 2>&1 &
	for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
fi
docker info >/dev/null 2>&1 || { echo "ci-docker: dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
echo "ci-docker: $(docker version --format 'Docker {{.Server.Version}}') ready, default runtime $(docker info --format '{{.DefaultRuntime}}')" >&2
