#!/usr/bin/env bash
# `npm run bench:peers [-- RUN.SH OPTIONS]`: the side-by-side harness of ../shared/perf/ (python-fleet, fleetctl,
# curl, raw undici) with effect-fleet's adapter (bench/peers/effect-fleet.sh -> bench/peer-adapter.mjs) added, on the
# freshly built dist/. ../shared is read-only: the harness is run as it is, effect-fleet joins through
# PERF_CLIENT_DIRS. Options go to run.sh: -r ROUNDS, -c "CLIENT ...", -w "WORKLOAD ...", -o OUTDIR, -n (no trace).
#
# Needs: ../shared/perf and ../shared/tools/fleet-ref/bin (PERF_SHARED overrides ../shared); python-fleet 0.1.3
# exported to $PERF_PYFLEET_SRC (default $PERF_WORK/python-fleet, see bench/README.md), run with Debian's python3 and
# python3-googleapi, python3-httplib2, python3-paramiko (installed here with apt-get when missing). Without either,
# python-fleet is left out with a warning and the others still run. After the harness's summary, issue 11's targets
# are printed from the same run (bench/peerTargets.ts; also written to OUTDIR/targets.md).
set -euo pipefail

PROJECT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${PERF_SHARED:-$PROJECT/../shared}
HARNESS=$SHARED/perf/run.sh
log() { printf '[bench:peers] %s\n' "$*" >&2; }
[[ -f $HARNESS ]] || { log "no harness at $HARNESS (set PERF_SHARED to the shared folder)"; exit 1; }

export PERF_WORK=${PERF_WORK:-${TMPDIR:-/tmp}/perf-work}
export PERF_SERVER=${PERF_SERVER:-$SHARED/tools/fleet-ref/bin/fleet-api-testserver}
export PERF_FLEETCTL=${PERF_FLEETCTL:-$SHARED/tools/fleet-ref/bin/fleetctl}
export PERF_PYTHON=${PERF_PYTHON:-/usr/bin/python3}
export PERF_PYFLEET_SRC=${PERF_PYFLEET_SRC:-$PERF_WORK/python-fleet}
export PERF_CLIENT_DIRS=$PROJECT/bench/peers${PERF_CLIENT_DIRS:+:$PERF_CLIENT_DIRS}

pyfleet=1
if [[ ! -f $PERF_PYFLEET_SRC/fleet/v1/__init__.py ]]; then
  log "WARNING: no python-fleet at $PERF_PYFLEET_SRC (bench/README.md says how to export it): leaving it out"
  pyfleet=0
elif ! "$PERF_PYTHON" -c 'import googleapiclient, httplib2, paramiko' 2>/dev/null; then
  log "installing python-fleet's dependencies from Debian (python3-googleapi python3-httplib2 python3-paramiko)"
  pkgs=(python3-googleapi python3-httplib2 python3-paramiko)
  { apt-get install -y "${pkgs[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null 2>&1 && apt-get install -y "${pkgs[@]}" >/dev/null 2>&1; }; } || true
  if ! "$PERF_PYTHON" -c 'import googleapiclient, httplib2, paramiko' 2>/dev/null; then
    log "WARNING: $PERF_PYTHON cannot import googleapiclient/httplib2/paramiko: leaving python-fleet out"
    pyfleet=0
  fi
fi
if [[ $pyfleet == 0 && -z ${PERF_CLIENTS:-} ]]; then
  export PERF_CLIENTS="curl fleetctl undici effect-fleet effect-fleet-traced"
fi

log "building dist/ (npm run build)"
(cd "$PROJECT" && npm run --silent build)

# The output folder is chosen here (unless -o is given) so that issue 11's targets can be read from it afterwards.
out=${PERF_OUT:-$PERF_WORK/results/$(date +%Y%m%d-%H%M%S)}
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == -o ]] && out=${args[i + 1]:-$out}; done
PERF_OUT=$out bash "$HARNESS" "$@"
"$PROJECT"/node_modules/.bin/node "$PROJECT/bench/peerTargets.ts" "$out" | tee "$out/targets.md"
