# shellcheck shell=bash
# Shared set-up for hack/ scripts: strict mode and the repository root.
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

# run_e2e_label LABEL TIMEOUT runs the e2e specs with a Ginkgo label and
# ends with a "LABEL: N passed, N failed, N skipped in N s" line; it returns
# go test's status.
run_e2e_label() {
  local label="$1" timeout="$2" log start status=0
  log="$(mktemp)"
  start=${SECONDS}
  go test -count=1 -timeout "${timeout}" -v ./e2e -ginkgo.label-filter="${label}" -ginkgo.v -ginkgo.no-color 2>&1 | tee "${log}" || status=$?
  local will ran passed failed
  will="$(sed -nE 's/^Will run ([0-9]+) of [0-9]+ specs$/\1/p' "${log}" | tail -1)"
  ran="$(sed -nE 's/^Ran ([0-9]+) of [0-9]+ Specs.*/\1/p' "${log}" | tail -1)"
  passed="$(sed -nE 's/.* -- ([0-9]+) Passed \| ([0-9]+) Failed .*/\1/p' "${log}" | tail -1)"
  failed="$(sed -nE 's/.* -- ([0-9]+) Passed \| ([0-9]+) Failed .*/\2/p' "${log}" | tail -1)"
  rm -f "${log}"
  if [[ -n "${will}" && -n "${ran}" && -n "${passed}" ]]; then
    echo "${label}: ${passed} passed, ${failed} failed, $((will - ran)) skipped in $((SECONDS - start)) s"
  fi
  return "${status}"
}
