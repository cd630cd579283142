#!/usr/bin/env bash
# The main job on the embedded defaults, offline: start an environment with
# no cluster, fetch the issuer's discovery document and JWKS with curl
# trusting only the exported CA, mint a service-account token and verify it
# against the served keys, then stop. Runs in a scratch IRSA_LOCAL_HOME
# unless one is set.
source "$(dirname "$0")/lib.sh"
hack/build.sh >/dev/null
bin="${REPO_ROOT}/bin/irsa-local"
if [[ -z "${IRSA_LOCAL_HOME:-}" ]]; then
  IRSA_LOCAL_HOME="$(mktemp -d)"
  export IRSA_LOCAL_HOME
  trap '"${bin}" down >/dev/null 2>&1 || true; rm -rf "${IRSA_LOCAL_HOME}"' EXIT
else
  trap '"${bin}" down >/dev/null 2>&1 || true' EXIT
fi

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "irsa-local up --cluster none"
"${bin}" up --cluster none

issuer="$("${bin}" status -o json | jq -r .issuer.url)"
ca="$("${bin}" status -o json | jq -r .issuer.caFile)"

step "curl --cacert ${ca} ${issuer}/.well-known/openid-configuration"
curl -fsS --cacert "${ca}" "${issuer}/.well-known/openid-configuration" | jq .

step "curl --cacert ${ca} ${issuer}/keys"
curl -fsS --cacert "${ca}" "${issuer}/keys" | jq '.keys[] | {kid, kty, alg, use}'

step "irsa-local token --namespace default --service-account s3-reader | irsa-local token verify -"
"${bin}" token --namespace default --service-account s3-reader | "${bin}" token verify -

step "irsa-local down"
"${bin}" down
echo
echo "demo: OK"
