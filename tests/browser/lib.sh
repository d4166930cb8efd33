# shellcheck shell=bash
# What the browser tests share (tests/browser/run, tests/kernel/cockpit-run), sourced.

# playwright_cache DIR: Playwright as package-lock.json pins it, installed into DIR once (npm ci),
# again when the lock file changes. Needs the network: call it outside any network namespace.
# Returns non-zero, having said why, when npm fails.
playwright_cache() {
        local here
        here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
        mkdir -p "$1" || { echo "cannot create $1" >&2; return 1; }
        if ! cmp -s "$here/package-lock.json" "$1/package-lock.json" || [ ! -d "$1/node_modules/playwright-core" ]; then
                echo "# installing playwright-core (npm ci) into $1" >&2
                cp "$here/package.json" "$here/package-lock.json" "$1/" &&
                        (cd "$1" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) ||
                        { rm -f "$1/package-lock.json"; echo "npm ci failed in $1" >&2; return 1; }
        fi
}
