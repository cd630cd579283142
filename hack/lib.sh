# Shared set-up for hack/ scripts: strict mode and the repository root.
set -o errexit -o nounset -o pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
