#!/usr/bin/env bash
# End-to-end specs with the tools users already run against irsa-local
# (Ginkgo label "tools"): Terraform's AWS provider applies
# examples/terraform, eksctl associates the issuer as an OIDC provider,
# helm lints and renders charts/irsa-local (built by hack/helm.sh from the
# Go module proxy, cached: about two minutes the first time).
# A missing tool is a skipped spec that names it, never a passed one;
# IRSA_LOCAL_REQUIRE_TERRAFORM=1, IRSA_LOCAL_REQUIRE_EKSCTL=1 and
# IRSA_LOCAL_REQUIRE_HELM=1 make it a failure. eksctl is not built here: the spec takes the binary
# hack/eksctl.sh caches (make eksctl), or $EKSCTL. Ends with a
# "tools: N passed, N failed, N skipped" line.
source "$(dirname "$0")/lib.sh"
if [[ -z "${HELM:-}" ]]; then
  HELM="$(hack/helm.sh)"
  export HELM
fi
run_e2e_label tools 30m
