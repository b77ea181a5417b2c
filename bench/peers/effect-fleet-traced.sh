# effect-fleet's adapter with a tracer installed (bench/peer-adapter.mjs, EFFECT_FLEET_TRACED=1): a tracer that
# builds Effect's native spans and keeps none, the least a tracing backend costs. Beside `effect-fleet`, which runs
# with no tracer installed (Effect's default), it shows what an operation's span costs.
set -euo pipefail
EFFECT_FLEET_TRACED=1 exec "$PERF_NODE" "$(dirname "${BASH_SOURCE[0]}")/../peer-adapter.mjs" "$@"
