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
run_e2e_label tools 30m
