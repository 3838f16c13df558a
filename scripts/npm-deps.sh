#!/usr/bin/env bash
# Installs the npm test peers from the committed lockfile (npm ci) unless node_modules already
# holds exactly that lockfile's install (its SHA-256 is kept in a stamp; comparing content, not
# mtimes, so a fresh clone or checkout does not reinstall). aws-lambda-ric builds a native
# addon: the first run takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.runtrail-stamp
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d node_modules/s3rver ] \
    && [ -d node_modules/aws-lambda-ric ]; then
    exit 0
fi
echo "runtrail: installing npm test peers (npm ci)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
