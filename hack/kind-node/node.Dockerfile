# Turns the Debian root file system into a kind node: kind's own node files
# (entrypoint, systemd units, containerd and kubelet configuration), the
# Kubernetes node binaries and the pod network configuration.
# The build context is assembled by hack/kind-node-image.sh.
ARG ROOTFS
FROM ${ROOTFS}

ARG KUBE_VERSION

COPY kind/usr/local/bin/ /usr/local/bin/
COPY kind/kind/ /kind/
COPY kind/etc/ /etc/
COPY bin/kubelet bin/kubeadm bin/kubectl /usr/bin/
COPY bin/crictl /usr/local/bin/
COPY 10-pod-network.conflist /etc/cni/net.d/
COPY setup-node.sh /tmp/setup-node.sh

RUN bash /tmp/setup-node.sh "${KUBE_VERSION}" && rm -f /tmp/setup-node.sh

# systemd looks for this to know it runs in a container.
ENV container=docker
