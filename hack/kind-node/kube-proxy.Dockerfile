# kube-proxy image: the static kube-proxy binary plus just enough of the
# node's Debian root file system (tools.tar, made by kube-proxy-rootfs.sh)
# for it to program iptables or nftables.
# The build context is assembled by hack/kind-node-image.sh.
FROM scratch
ADD tools.tar /
COPY bin/kube-proxy /usr/local/bin/kube-proxy
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
