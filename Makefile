# irsa-local build and test entry points. Every target calls a script under
# hack/, so CI and people run exactly the same thing.

.DEFAULT_GOAL := build

## build: compile bin/irsa-local and bin/irsa-local-serve (the serving process up starts)
.PHONY: build
build:
	hack/build.sh

## demo: the main job — the whole IRSA chain on a local cluster, offline: a pod's role reads S3, a write is refused and the trail says why
.PHONY: demo
demo:
	hack/demo.sh

## test: the README's test command — static checks, unit tests, examples and the e2e suite (kind and tool specs have their own targets)
.PHONY: test
test:
	hack/test.sh

## test-short: static checks and the unit tests with -short (no kube-apiserver, no AWS CLI, no e2e): about a minute
.PHONY: test-short
test-short:
	hack/test-short.sh

## e2e-tools: end-to-end specs with Terraform (examples/terraform) and eksctl; a missing tool is a skipped spec
.PHONY: e2e-tools
e2e-tools:
	hack/e2e-tools.sh

## e2e-kind: end-to-end specs on kind clusters with real pods (needs a running Docker engine; builds the node image when missing)
.PHONY: e2e-kind
e2e-kind:
	hack/e2e-kind.sh

## image: build the irsa-local container image (irsa-local:<version> and :latest) from scratch with docker build, no registry
.PHONY: image
image:
	hack/image.sh

## kind-node-image: build the kind node image irsa-local/kind-node offline, from Debian packages and Kubernetes built from source (cached)
.PHONY: kind-node-image
kind-node-image:
	hack/kind-node-image.sh

## eksctl: build eksctl v0.230.0 from its Go module into ~/.cache/irsa-local/tools (4-6 minutes of 2 cores, once per machine)
.PHONY: eksctl
eksctl:
	hack/eksctl.sh

## fuzz: every fuzz target for a bounded time (FUZZTIME each, default 20s): S3 keys, the admin API, policies, SigV4
.PHONY: fuzz
fuzz:
	hack/fuzz.sh

## mutate: mutation testing of the deciding code (policy engine, SigV4, token validation, S3 authorization); ~35 min
.PHONY: mutate
mutate:
	hack/mutate.sh

## load: AssumeRoleWithWebIdentity load test (8 clients, 60 s): throughput, latency, memory
.PHONY: load
load:
	hack/load.sh

## bench: 6,000 AssumeRoleWithWebIdentity calls at concurrency 8 against irsa-local and against moto_server, in one run: req/s, p50, p99, RSS of both
.PHONY: bench
bench:
	hack/bench.sh

## verify: go mod tidy, gofmt, goimports, go vet, staticcheck and shellcheck (tools installed on first use)
.PHONY: verify
verify:
	hack/verify.sh

## k8s-assets: build etcd, kube-apiserver, kube-controller-manager and kubectl into bin/k8s (minutes when cold; nothing to do when built)
.PHONY: k8s-assets
k8s-assets:
	hack/k8s-assets.sh

## clean: remove build outputs
.PHONY: clean
clean:
	rm -rf bin

.PHONY: help
help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'
