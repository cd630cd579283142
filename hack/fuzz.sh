#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZTIME each, default 20s):
# S3 keys through the object store, the admin API, AssumeRole's parameters,
# eks-auth's cluster and token, the Pod Identity agent's requests, policy
# parsing, SigV4 verification, the forwarded services' request models and
# the server of the ui page. A failing input is saved under the package's
# testdata/fuzz/, where go test replays it from then on. Ends with a
# "fuzz: N passed, N failed" line.
source "$(dirname "$0")/lib.sh"
fuzztime="${FUZZTIME:-20s}"
# Go minimizes each new interesting input for up to 60 s by default; a
# target whose runs fsync (FuzzKeys) then spends the end of a short run
# minimizing, and a minimization still going at the deadline fails the
# run with "context deadline exceeded". A few seconds keeps the inputs
# small enough and the time for fuzzing.
minimizetime="${FUZZMINIMIZETIME:-3s}"
targets=(
  "./internal/s3store FuzzKeys"
  "./pkg/stsmock FuzzAdminAPI"
  "./pkg/stsmock FuzzAssumeRole"
  "./pkg/stsmock FuzzAssumeRoleForPodIdentity"
  "./internal/agent FuzzAgent"
  "./pkg/policy FuzzParse"
  "./internal/sigv4 FuzzVerify"
  "./internal/sigv4 FuzzParse"
  "./internal/sigv4 FuzzChunkedBody"
  "./internal/actions FuzzParse"
  "./internal/ui FuzzServer"
)
passed=0
failed=0
for t in "${targets[@]}"; do
  read -r pkg name <<<"${t}"
  echo "fuzz ${pkg} ${name} for ${fuzztime}"
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "${fuzztime}" -fuzzminimizetime "${minimizetime}" "${pkg}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done
echo "fuzz: ${passed} passed, ${failed} failed"
((failed == 0))
