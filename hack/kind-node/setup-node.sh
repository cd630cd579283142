#!/usr/bin/env bash
# Runs once while the node image is built (see node.Dockerfile): wires the
# Debian packages into the layout kind's node files expect, and trims systemd
# down to what a node container needs.
set -euo pipefail

kube_version=$1

# kind reads the Kubernetes version of an image from here.
printf '%s' "${kube_version}" >/kind/version

# containerd must not lower a container's oom_score_adj below its own: the
# node container may lack CAP_SYS_RESOURCE, and then runc fails every pod
# sandbox ("can't get final child's PID from pipe").
config=/etc/containerd/config.toml
sed -i -E 's/^([[:space:]]*restrict_oom_score_adj[[:space:]]*=[[:space:]]*)false/\1true/' "${config}"
grep -Eq '^[[:space:]]*restrict_oom_score_adj[[:space:]]*=[[:space:]]*true' "${config}" || {
	echo "setup-node: could not enable restrict_oom_score_adj in ${config}" >&2
	exit 1
}

# kind's containerd unit starts /usr/local/bin/containerd; Debian installs
# the runtime in /usr/bin.
for bin in containerd ctr containerd-shim-runc-v2; do
	ln -sf "/usr/bin/${bin}" "/usr/local/bin/${bin}"
done

# The runtime spec every container starts from, with kind's hook that gives
# each container its own product_uuid and without default rlimits.
ctr oci spec |
	jq '.hooks.createContainer += [{"path": "/kind/bin/mount-product-files.sh"}] | del(.process.rlimits)' \
		>/etc/containerd/cri-base.json

# Only the units kind enables should start in a node: drop what Debian's
# packages enabled, tmpfiles set-up at boot, udev and initctl sockets.
rm -f /lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service \
	/lib/systemd/system/multi-user.target.wants/* \
	/etc/systemd/system/*.wants/* \
	/lib/systemd/system/local-fs.target.wants/* \
	/lib/systemd/system/sockets.target.wants/*udev* \
	/lib/systemd/system/sockets.target.wants/*initctl* \
	/lib/systemd/system/basic.target.wants/*
# The kernel log belongs to the host; echoing it in every node only confuses.
echo 'ReadKMsg=no' >>/etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init

systemctl enable kubelet.service containerd.service undo-mount-hacks.service
# binfmt_misc is kernel-wide: a node must not register handlers on the host.
systemctl mask systemd-binfmt.service

# kubeadm writes the static pod manifests here.
mkdir -p /etc/kubernetes/manifests

rm -rf /var/log/* /var/cache/debconf/*-old /tmp/*
