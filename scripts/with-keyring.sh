#!/usr/bin/env bash
# Runs CMD... with a real Secret Service: a private D-Bus session bus (dbus-run-session) and a freshly
# created, unlocked gnome-keyring in a throwaway HOME, so tests never see (or touch) the user's keyring
# and every run starts empty. DISPLAY is unset: a prompt (locked keyring) must fail, not open a window.
# Usage: scripts/with-keyring.sh npx vitest run test/e2e/keychain.test.ts
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

if [ -z "${ONRAMP_IN_PRIVATE_BUS:-}" ]; then
  for tool in dbus-run-session gnome-keyring-daemon secret-tool; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install dbus gnome-keyring libsecret-tools)" >&2; exit 127; }
  done
  keyring_home="$(mktemp -d "${TMPDIR:-/tmp}/onramp-keyring-XXXXXX")"
  trap 'rm -rf "$keyring_home"' EXIT
  mkdir -m 700 "$keyring_home/data" "$keyring_home/run"
  # Re-enter this script inside the private bus; the daemon dies with the bus when CMD ends.
  status=0
  env -u DISPLAY -u WAYLAND_DISPLAY -u GNOME_KEYRING_CONTROL -u SSH_AUTH_SOCK \
    HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="$keyring_home/run" \
    ONRAMP_REAL_HOME="$HOME" ONRAMP_REAL_XDG_DATA_HOME="${XDG_DATA_HOME:-}" ONRAMP_IN_PRIVATE_BUS=1 \
    dbus-run-session -- "$0" "$@" || status=$?
  exit "$status"
fi

# --unlock reads the password on stdin and creates the login keyring with it when there is none.
# The daemon forks and prints env lines (GNOME_KEYRING_CONTROL=...); secrets need only the bus.
printf '%s' "onramp-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null

# Readiness: a real store/lookup/clear round trip, retried while the daemon settles on the bus.
probe="ready-$$-$RANDOM"
for attempt in $(seq 1 50); do
  if printf '%s' "$probe" | timeout 5 secret-tool store --label='onramp readiness probe' onramp-probe "$probe" 2>/dev/null \
    && [ "$(timeout 5 secret-tool lookup onramp-probe "$probe" 2>/dev/null)" = "$probe" ]; then
    timeout 5 secret-tool clear onramp-probe "$probe" || true
    break
  fi
  if [ "$attempt" -eq 50 ]; then
    echo "$0: the Secret Service did not become ready (gnome-keyring-daemon on a private bus)" >&2
    exit 1
  fi
  sleep 0.1
done

unset ONRAMP_IN_PRIVATE_BUS
# The keyring needed a throwaway HOME; CMD gets the caller's back (npm and npx caches live there).
export HOME="$ONRAMP_REAL_HOME"
if [ -n "$ONRAMP_REAL_XDG_DATA_HOME" ]; then export XDG_DATA_HOME="$ONRAMP_REAL_XDG_DATA_HOME"; else unset XDG_DATA_HOME; fi
unset ONRAMP_REAL_HOME ONRAMP_REAL_XDG_DATA_HOME
exec "$@"
