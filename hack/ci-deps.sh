#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests call when missing
# (curl, jq, and Chromium, which the ui spec drives headless), and checks
# for the Go toolchain and the AWS CLI. Go modules come from the module
# proxy.
source "$(dirname "$0")/lib.sh"
missing=()
for tool in curl jq chromium; do
  command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "go is not on PATH; install Go 1.26 or newer" >&2; exit 1; }
command -v aws >/dev/null || { echo "the AWS CLI is not on PATH; the demo and the e2e suite drive it (pip install awscli)" >&2; exit 1; }
go mod download
