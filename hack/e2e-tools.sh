#!/usr/bin/env bash
# End-to-end specs with the tools users already run against irsa-local
# (Ginkgo label "tools"): Terraform's AWS provider applies
# examples/terraform, eksctl associates the issuer as an OIDC provider.
# A missing tool is a skipped spec that names it, never a passed one;
# IRSA_LOCAL_REQUIRE_TERRAFORM=1 and IRSA_LOCAL_REQUIRE_EKSCTL=1 make it a
# failure. eksctl is not built here: the spec takes the binary
# hack/eksctl.sh caches (make eksctl), or $EKSCTL. Ends with a
# "tools: N passed, N failed, N skipped" line.
source "$(dirname "$0")/lib.sh"
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
start=${SECONDS}
status=0
go test -count=1 -timeout 30m -v ./e2e -ginkgo.label-filter=tools -ginkgo.v -ginkgo.no-color 2>&1 | tee "${log}" || status=$?
will="$(sed -nE 's/^Will run ([0-9]+) of [0-9]+ specs$/\1/p' "${log}" | tail -1)"
ran="$(sed -nE 's/^Ran ([0-9]+) of [0-9]+ Specs.*/\1/p' "${log}" | tail -1)"
passed="$(sed -nE 's/.* -- ([0-9]+) Passed \| ([0-9]+) Failed .*/\1/p' "${log}" | tail -1)"
failed="$(sed -nE 's/.* -- ([0-9]+) Passed \| ([0-9]+) Failed .*/\2/p' "${log}" | tail -1)"
if [[ -n "${will}" && -n "${ran}" && -n "${passed}" ]]; then
  echo "tools: ${passed} passed, ${failed} failed, $((will - ran)) skipped in $((SECONDS - start)) s"
fi
exit "${status}"
