#!/usr/bin/env bash
# Load test of AssumeRoleWithWebIdentity: starts an environment in a scratch
# IRSA_LOCAL_HOME, sends requests from 8 concurrent clients for 60 s (change
# with LOAD_CONCURRENCY / LOAD_DURATION), prints throughput, latency
# percentiles and the environment's resident memory, then stops it.
source "$(dirname "$0")/lib.sh"
hack/build.sh >/dev/null
bin="${REPO_ROOT}/bin/irsa-local"
IRSA_LOCAL_HOME="$(mktemp -d)"
export IRSA_LOCAL_HOME
trap '"${bin}" down >/dev/null 2>&1 || true; rm -rf "${IRSA_LOCAL_HOME}"' EXIT
"${bin}" up --cluster none >/dev/null
go run ./hack/loadgen -bin "${bin}" -c "${LOAD_CONCURRENCY:-8}" -d "${LOAD_DURATION:-60s}"
