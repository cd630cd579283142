#!/usr/bin/env bash
# Collects into $1 the tools kube-proxy runs (iptables in both backends, nft,
# conntrack, a shell for the iptables front end $2) with the shared libraries
# they load, so the kube-proxy image needs no whole distribution. Runs in a
# container of the node's root file system.
set -euo pipefail

out=$1
wrapper=$2

# copy_file PATH: copies PATH (following links) to the same place under $out.
copy_file() {
	mkdir -p "${out}$(dirname "$1")"
	cp -L "$1" "${out}$1"
}

# copy_with_libs PATH: copies PATH and every library the dynamic loader
# would map for it.
copy_with_libs() {
	copy_file "$1"
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' |
		while read -r lib; do
			[[ -e "${out}${lib}" ]] || copy_file "${lib}"
		done
}

for bin in /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi /usr/sbin/nft /usr/sbin/conntrack /bin/dash; do
	copy_with_libs "${bin}"
done
# iptables loads its match and target extensions at run time.
for ext in /usr/lib/*/xtables/*.so; do
	copy_with_libs "${ext}"
done
# Name-service files iptables and conntrack consult for protocol names.
for f in /etc/protocols /etc/services /etc/ethertypes /etc/nsswitch.conf /etc/passwd /etc/group; do
	if [[ -e "${f}" ]]; then copy_file "${f}"; fi
done

mkdir -p "${out}/bin" "${out}/usr/sbin" "${out}/tmp" "${out}/run" "${out}/var/run"
chmod 1777 "${out}/tmp"
ln -sf dash "${out}/bin/sh"
install -m 0755 "${wrapper}" "${out}/usr/sbin/iptables-wrapper"
for backend in legacy nft; do
	for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
		ln -sf "xtables-${backend}-multi" "${out}/usr/sbin/${cmd}-${backend}"
	done
done
for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
	ln -sf iptables-wrapper "${out}/usr/sbin/${cmd}"
done
