package existing

import (
	"net"
	"testing"
)

func mustNet(t *testing.T, iface, cidr string) network {
	t.Helper()
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		t.Fatal(err)
	}
	return network{iface: iface, ip: ip.To4(), net: n}
}

func TestReachFrom(t *testing.T) {
	local := []network{
		mustNet(t, "lo", "127.0.0.1/8"),
		mustNet(t, "eth0", "10.0.0.5/24"),
		mustNet(t, "br-kind", "172.18.0.1/16"),
	}
	ips := func(s ...string) []net.IP {
		var out []net.IP
		for _, a := range s {
			out = append(out, net.ParseIP(a).To4())
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		nodes     []net.IP
		apiserver string
		want      string
		noNodes   bool
		ok        bool
	}{
		{name: "kind node on a bridge of this machine", nodes: ips("172.18.0.2"), apiserver: "127.0.0.1", want: "172.18.0.1", ok: true},
		{name: "the node is this machine", nodes: ips("10.0.0.5"), apiserver: "10.0.0.5", want: "10.0.0.5", ok: true},
		{name: "a VM on the LAN", nodes: ips("10.0.0.9"), apiserver: "10.0.0.9", want: "10.0.0.5", ok: true},
		{name: "the node's own address wins over its network", nodes: ips("10.0.0.9", "10.0.0.5"), want: "10.0.0.5", ok: true},
		{name: "nodes elsewhere", nodes: ips("192.168.49.2"), apiserver: "127.0.0.1"},
		{name: "no nodes, apiserver on loopback", apiserver: "127.0.0.1", want: "127.0.0.1", noNodes: true, ok: true},
		{name: "no nodes, apiserver named localhost", apiserver: "localhost", want: "127.0.0.1", noNodes: true, ok: true},
		{name: "no nodes, apiserver on this machine", apiserver: "10.0.0.5", want: "10.0.0.5", noNodes: true, ok: true},
		{name: "no nodes, apiserver elsewhere", apiserver: "203.0.113.7"},
		{name: "no nodes, apiserver by a remote name", apiserver: "api.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := reachFrom(tc.nodes, tc.apiserver, local)
			if ok != tc.ok || r.Host != tc.want || r.NoNodes != tc.noNodes {
				t.Fatalf("reachFrom = %+v, %v; want host %q, no nodes %v, ok %v", r, ok, tc.want, tc.noNodes, tc.ok)
			}
			if ok && r.Why == "" {
				t.Error("no reason given")
			}
		})
	}
}
