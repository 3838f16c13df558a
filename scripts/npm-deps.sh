#!/usr/bin/env bash
# Installs the npm test peers from the committed lockfile (npm ci) when node_modules is missing
# or older than the lockfile. aws-lambda-ric builds a native addon: the first run takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.runtrail-stamp
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ]; then exit 0; fi
echo "runtrail: installing npm test peers (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
