# effect-fleet's adapter for ../shared/perf/run.sh (found through PERF_CLIENT_DIRS, see bench/peers.sh): the same
# Node as the harness's raw undici adapter, on bench/peer-adapter.mjs and the built dist/.
set -euo pipefail
exec "$PERF_NODE" "$(dirname "${BASH_SOURCE[0]}")/../peer-adapter.mjs" "$@" # exec: the harness's RSS/CPU are node's
