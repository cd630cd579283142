#!/usr/bin/env bash
# Static checks: go vet and gofmt.
source "$(dirname "$0")/lib.sh"
go vet ./...
unformatted="$(gofmt -l cmd pkg e2e)"
if [[ -n "${unformatted}" ]]; then
  echo "gofmt needed on:" >&2
  echo "${unformatted}" >&2
  exit 1
fi
echo "vet and gofmt: clean"
