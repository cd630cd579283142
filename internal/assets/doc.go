// Package assets builds and finds the Kubernetes binaries a local control
// plane runs: kube-apiserver, kube-controller-manager and kubectl from
// k8s.io/kubernetes v1.37.2, and etcd v3.7.0, the etcd release kubeadm v1.37
// pairs with (go.etcd.io/etcd/server/v3 v3.7.0 behind a main that calls
// etcdmain.Main, as etcd's own server/main.go does).
//
// Install takes the official release binaries where the release servers
// (or a mirror) can be reached, each checked against its published SHA-256
// and installed atomically (Fetch), and otherwise builds them: everything
// can be built from the Go module proxy, with no release tarball or
// container image. The build happens in a separate tools module
// whose go.mod requires k8s.io/kubernetes and replaces every staging module
// k8s.io/X with k8s.io/X v0.37.2, exactly as the replace block of the
// kubernetes go.mod does with local paths. Keeping it out of irsa-local's own
// go.mod means library users of irsa-local never inherit Kubernetes' module
// graph. The tools module is kept as text templates in this package (a
// directory with its own go.mod cannot be embedded) and written to a stable
// directory under the user cache, so repeated builds reuse its downloads and
// the Go build cache.
//
// Find looks for a binary in this order; the first executable file wins:
//
//  1. $TEST_ASSET_<NAME>, the envtest convention: the upper-cased name with
//     dashes as underscores, e.g. TEST_ASSET_KUBE_APISERVER;
//  2. $KUBEBUILDER_ASSETS/<name>;
//  3. <user cache>/irsa-local/k8s/v1.37.2/<name>, where
//     `irsa-local assets build` puts them;
//  4. bin/k8s/<name> relative to the current directory, then relative to the
//     root of the irsa-local checkout containing it (where
//     `make k8s-assets` puts them);
//  5. $PATH.
//
// Environment variables read by this package:
//
//	TEST_ASSET_<NAME>   explicit path of one binary (Find)
//	KUBEBUILDER_ASSETS  directory holding the binaries (Find)
//	XDG_CACHE_HOME      user cache directory, through os.UserCacheDir;
//	HOME                its fallback ($HOME/.cache)
//	PATH                last place Find looks, and where Build finds go
//
// Build runs the go command with CGO_ENABLED=0 (static binaries), GOWORK=off
// and GOFLAGS=-buildvcs=false (the tools module is no checkout, and a
// caller's GOFLAGS such as -mod=vendor must not leak into it); every other Go
// variable (GOPROXY, GOCACHE, GOMODCACHE, ...) is left as the caller has it.
package assets
