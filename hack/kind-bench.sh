#!/usr/bin/env bash
# Measures what irsa-local's IRSA wiring adds to creating a kind cluster:
# `irsa-local up --cluster kind` against a plain `kind create cluster` with
# the same node image and the settings that image needs, alternating, RUNS
# times each (default 3). kind's --wait ends when the node is Ready, while
# up also waits for the default service account (without it no pod of the
# default namespace is admitted), so the plain cluster is also timed until
# that account exists. Needs a running Docker engine and the node image
# (make kind-node-image). The kind CLI is built from the module version
# irsa-local links. Prints one line per run and the medians.
source "$(dirname "$0")/lib.sh"
runs=${RUNS:-3}
image=${IRSA_LOCAL_KIND_IMAGE:-irsa-local/kind-node:v1.37.2}
work="$(mktemp -d)"
trap 'bin/irsa-local down --name kind-bench >/dev/null 2>&1 || true; "${work}/kind" delete cluster --name kind-bench-plain >/dev/null 2>&1 || true; rm -rf "${work}"' EXIT

docker image inspect "${image}" >/dev/null 2>&1 || { echo "kind-bench: node image ${image} is missing; run make kind-node-image" >&2; exit 1; }
go build -o "${work}/kind" sigs.k8s.io/kind
hack/build.sh >/dev/null
kubectl="$(go run ./cmd/irsa-local assets build 2>/dev/null | tail -1)/kubectl"

# What the offline image needs of any cluster made from it: no kindnetd,
# and on a cgroup v1 host the kubelet's permission to run.
cat >"${work}/plain.yaml" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
YAML
if [[ "$(docker info --format '{{.CgroupVersion}}')" == "1" ]]; then
  cat >>"${work}/plain.yaml" <<YAML
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
YAML
fi

export IRSA_LOCAL_HOME="${work}/home"
ms() { date +%s%3N; }
plain=() plainsa=() irsa=()
for i in $(seq "${runs}"); do
  t0=$(ms)
  "${work}/kind" create cluster --name kind-bench-plain --image "${image}" --config "${work}/plain.yaml" \
    --kubeconfig "${work}/plain.kubeconfig" --wait 2m -q
  t1=$(ms)
  until "${kubectl}" --kubeconfig "${work}/plain.kubeconfig" get serviceaccount default -n default >/dev/null 2>&1; do
    sleep 0.1
  done
  t1sa=$(ms)
  "${work}/kind" delete cluster --name kind-bench-plain --kubeconfig "${work}/plain.kubeconfig" -q
  t2=$(ms)
  bin/irsa-local up -q --cluster kind --kind-image "${image}" --name kind-bench >/dev/null
  t3=$(ms)
  bin/irsa-local down -q --name kind-bench
  plain+=($((t1 - t0))) plainsa+=($((t1sa - t0))) irsa+=($((t3 - t2)))
  echo "run ${i}: kind create cluster $((t1 - t0)) ms (default service account at $((t1sa - t0)) ms), irsa-local up --cluster kind $((t3 - t2)) ms"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
pct() { awk -v p="$1" -v q="$2" 'BEGIN { printf "%+.1f %%", (q - p) * 100 / p }'; }
p=$(median "${plain[@]}") psa=$(median "${plainsa[@]}") q=$(median "${irsa[@]}")
echo "median over ${runs} runs: kind create cluster ${p} ms, until its default service account ${psa} ms; irsa-local up --cluster kind ${q} ms ($(pct "${p}" "${q}") against the first, $(pct "${psa}" "${q}") against the second)"
