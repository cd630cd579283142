package local

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
)

// Ports are the TCP ports the components listen on, all on 127.0.0.1.
type Ports struct {
	// APIServer is the apiserver's HTTPS port, the kubeconfig's server.
	APIServer int
	// EtcdClient is etcd's plain-HTTP client port (the apiserver's
	// --etcd-servers); EtcdPeer its peer port, unused by a single member.
	EtcdClient int
	EtcdPeer   int
	// ControllerManager is the controller-manager's HTTPS port (/healthz).
	ControllerManager int
}

// layout names the files in the cluster directory.
type layout struct{ dir string }

func (l layout) etcdData() string        { return filepath.Join(l.dir, "etcd") }
func (l layout) pki() string             { return filepath.Join(l.dir, "pki") }
func (l layout) clientCA() string        { return filepath.Join(l.dir, "pki", "client-ca") }
func (l layout) ownServingCA() string    { return filepath.Join(l.dir, "pki", "serving-ca") }
func (l layout) kubeconfig() string      { return filepath.Join(l.dir, "kubeconfig") }
func (l layout) log(name string) string  { return filepath.Join(l.dir, name+".log") }
func (l layout) pid(name string) string  { return filepath.Join(l.dir, name+".pid") }
func (l layout) cert(name string) string { return filepath.Join(l.dir, "pki", name+".crt") }
func (l layout) key(name string) string  { return filepath.Join(l.dir, "pki", name+".key") }
func (l layout) kcmKubeconfig() string {
	return filepath.Join(l.dir, KubeControllerManager+".kubeconfig")
}
func (l layout) clientCACert() string { return filepath.Join(l.clientCA(), "ca.crt") }

// plan is everything the command lines are made from.
type plan struct {
	cfg           Config
	layout        layout
	ports         Ports
	servingCAFile string
}

const loopback = "127.0.0.1"

func hostPort(port int) string { return net.JoinHostPort(loopback, strconv.Itoa(port)) }

func (p *plan) etcdClientURL() string { return "http://" + hostPort(p.ports.EtcdClient) }
func (p *plan) etcdPeerURL() string   { return "http://" + hostPort(p.ports.EtcdPeer) }
func (p *plan) server() string        { return "https://" + hostPort(p.ports.APIServer) }

// etcdArgs runs one member that only this machine can reach. fsync is off:
// the data is a test cluster's, and fsync dominates etcd's latency on
// shared disks.
func (p *plan) etcdArgs() []string {
	return []string{
		"--name=irsa-local",
		"--data-dir=" + p.layout.etcdData(),
		"--listen-client-urls=" + p.etcdClientURL(),
		"--advertise-client-urls=" + p.etcdClientURL(),
		"--listen-peer-urls=" + p.etcdPeerURL(),
		"--initial-advertise-peer-urls=" + p.etcdPeerURL(),
		"--initial-cluster=irsa-local=" + p.etcdPeerURL(),
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true",
		"--log-format=console",
	}
}

// apiServerArgs serves HTTPS on loopback only, authenticates clients by
// certificates of the cluster's client CA, authorizes with RBAC (no nodes,
// so no Node authorizer), and issues service-account tokens with the
// environment's issuer and key. The endpoint reconciler refuses a loopback
// advertise address, and with no pods nothing would use the endpoints of
// the kubernetes Service, so it is off.
func (p *plan) apiServerArgs() []string {
	l := p.layout
	return []string{
		"--etcd-servers=" + p.etcdClientURL(),
		"--bind-address=" + loopback,
		"--advertise-address=" + loopback,
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(p.ports.APIServer),
		"--tls-cert-file=" + l.cert(KubeAPIServer),
		"--tls-private-key-file=" + l.key(KubeAPIServer),
		"--client-ca-file=" + l.clientCACert(),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=" + p.cfg.ServiceClusterIPRange,
		"--allow-privileged=true",
		"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook",
		"--service-account-issuer=" + p.cfg.IssuerURL,
		"--service-account-signing-key-file=" + p.cfg.SigningKeyFile,
		"--service-account-key-file=" + p.cfg.VerificationKeyFile,
		"--api-audiences=" + strings.Join(p.cfg.apiAudiences(), ","),
		"--profiling=false",
	}
}

// controllerManagerArgs runs every default controller under the
// controller-manager's own identity (it is in system:masters, so no
// per-controller service accounts are needed), signs legacy token secrets
// with the environment's key, and publishes the serving CA as
// kube-root-ca.crt.
func (p *plan) controllerManagerArgs() []string {
	l := p.layout
	return []string{
		"--kubeconfig=" + l.kcmKubeconfig(),
		"--authentication-kubeconfig=" + l.kcmKubeconfig(),
		"--authorization-kubeconfig=" + l.kcmKubeconfig(),
		"--bind-address=" + loopback,
		"--secure-port=" + strconv.Itoa(p.ports.ControllerManager),
		"--tls-cert-file=" + l.cert(KubeControllerManager),
		"--tls-private-key-file=" + l.key(KubeControllerManager),
		"--controllers=*",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + p.cfg.SigningKeyFile,
		"--root-ca-file=" + p.servingCAFile,
		"--leader-elect=false",
		"--profiling=false",
	}
}

// apiServerHosts are the names the apiserver's certificate covers: loopback,
// and the in-cluster names and Service IP clients inside the cluster use.
func (p *plan) apiServerHosts() []string {
	hosts := []string{loopback, "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if _, n, err := net.ParseCIDR(p.cfg.ServiceClusterIPRange); err == nil {
		ip := append(net.IP(nil), n.IP...)
		ip[len(ip)-1]++
		hosts = append(hosts, ip.String())
	}
	return hosts
}
