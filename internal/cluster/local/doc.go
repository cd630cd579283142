// Package local runs a Kubernetes control plane without Docker: etcd,
// kube-apiserver and kube-controller-manager as child processes of the
// calling program, all listening on 127.0.0.1 only.
//
// The apiserver signs service-account tokens with the environment's key and
// issuer URL, so TokenRequest (and `kubectl create token`) returns the tokens
// IRSA uses. The controller-manager runs its default controllers, among them
// the ones that give every namespace its `default` ServiceAccount and its
// `kube-root-ca.crt` ConfigMap. There is no kubelet, scheduler or node: pods
// can be created and admitted (mutating webhooks run) but never run.
//
// # Files
//
// Everything lives in Config.Dir:
//
//	etcd/                        etcd's data, kept across restarts
//	pki/                         serving certificates, client CA (pki/client-ca/)
//	kubeconfig                   admin kubeconfig (group system:masters)
//	kube-controller-manager.kubeconfig
//	<component>.log              output of the current run; <component>.log.1 the previous run's
//	<component>.pid              pid of the running process
//
// # Processes
//
// The components are children of the process that called Start, each in its
// own process group so that a terminal's Ctrl-C reaches only that process,
// which then stops them in order (Cluster.Stop). No parent-death signal is
// used: the Go runtime may end the thread that started a child at any time,
// which would deliver it early. If the owner is killed without a chance to
// stop them (SIGKILL), the components keep running; their pid files let the
// next Start in the same directory find and stop them. A pid is only
// signalled when /proc/<pid>/cmdline shows the component's binary and an
// argument inside Config.Dir, so a reused pid or another environment's
// process is never touched. Start therefore assumes it owns Config.Dir: two
// live clusters must not share one (irsa-local's state-directory lock sees
// to that).
//
// # Ports
//
// The apiserver serves HTTPS on Config.SecurePort, or on a free port when it
// is 0; etcd's client and peer ports and the controller-manager's HTTPS port
// are always picked free at start. Cluster.Ports reports them.
//
// # Environment
//
// The package reads no environment variable itself; binaries left empty in
// Config are found with assets.Find (see package assets for the variables it
// reads). Components inherit the caller's environment except ETCD_* and
// KUBECONFIG, which would otherwise change how etcd or a component starts.
package local
