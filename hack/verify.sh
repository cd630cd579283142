#!/usr/bin/env bash
# Static checks, each a gate: go.mod and go.sum tidy, gofmt and goimports
# over every Go file, go vet, staticcheck, and shellcheck over hack/ and
# .ci/. goimports and staticcheck are built from the Go module proxy into
# the tools cache once; shellcheck comes from Debian's packages.
source "$(dirname "$0")/lib.sh"
tools="${XDG_CACHE_HOME:-${HOME}/.cache}/irsa-local/tools"
GOIMPORTS_VERSION=v0.40.0
STATICCHECK_VERSION=v0.6.1

# go_tool NAME MODULE VERSION installs a Go tool into the tools cache once
# and prints its path.
go_tool() {
  local name="$1" module="$2" version="$3" dir
  dir="${tools}/${name}-${version}"
  if [[ ! -x "${dir}/${name}" ]]; then
    mkdir -p "${dir}"
    GOBIN="${dir}" GOFLAGS='' go install "${module}@${version}" >&2
  fi
  echo "${dir}/${name}"
}

if ! command -v shellcheck >/dev/null 2>&1; then
  echo "installing: shellcheck"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
goimports="$(go_tool goimports golang.org/x/tools/cmd/goimports "${GOIMPORTS_VERSION}")"
staticcheck="$(go_tool staticcheck honnef.co/go/tools/cmd/staticcheck "${STATICCHECK_VERSION}")"

failed=()
gate() {
  local name="$1"
  shift
  if ! "$@"; then
    failed+=("${name}")
  fi
}

# must_be_empty CMD... fails, printing the output, when CMD prints anything.
must_be_empty() {
  local out
  out="$("$@" 2>&1)" || { echo "${out}" >&2; return 1; }
  [[ -z "${out}" ]] || { echo "${out}" >&2; return 1; }
}

mapfile -t gofiles < <(git ls-files -- '*.go')
mapfile -t shfiles < <(git ls-files -- 'hack/*.sh' 'hack/kind-node/*.sh' 'hack/kind-node/iptables-wrapper' '.ci/*')

gate "go mod tidy" go mod tidy -diff
gate "gofmt" must_be_empty gofmt -l "${gofiles[@]}"
gate "goimports" must_be_empty "${goimports}" -l -local github.com/irsa-local/irsa-local "${gofiles[@]}"
gate "go vet" go vet ./...
gate "staticcheck" "${staticcheck}" ./...
gate "shellcheck" shellcheck "${shfiles[@]}"

if ((${#failed[@]})); then
  echo "verify: failed: ${failed[*]}" >&2
  exit 1
fi
echo "verify: go mod tidy, gofmt, goimports, go vet, staticcheck, shellcheck: clean"
