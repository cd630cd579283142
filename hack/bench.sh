#!/usr/bin/env bash
# Benchmark: 6,000 AssumeRoleWithWebIdentity calls at concurrency 8 (change
# with BENCH_REQUESTS / BENCH_CONCURRENCY) against an irsa-local environment
# (--cluster none --backend none: only its own serving process) and then the
# same against a moto_server started for the purpose, in one run. Prints
# requests/s, p50, p99 and the resident memory of each after the load.
source "$(dirname "$0")/lib.sh"
moto="$(command -v moto_server || true)"
if [[ -z "${moto}" ]]; then
  echo "bench: moto_server is not on PATH (pip install 'moto[server]'); measuring irsa-local alone" >&2
fi
hack/build.sh >/dev/null
bin="${REPO_ROOT}/bin/irsa-local"
IRSA_LOCAL_HOME="$(mktemp -d)"
export IRSA_LOCAL_HOME
trap '"${bin}" down >/dev/null 2>&1 || true; rm -rf "${IRSA_LOCAL_HOME}"' EXIT
echo "bench: starting an irsa-local environment (--cluster none --backend none)"
"${bin}" up -q --cluster none --backend none >/dev/null
go run ./hack/loadgen -bin "${bin}" -n "${BENCH_REQUESTS:-6000}" -c "${BENCH_CONCURRENCY:-8}" ${moto:+-moto "${moto}"}
