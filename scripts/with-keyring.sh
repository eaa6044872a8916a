#!/usr/bin/env bash
# Runs CMD... with a real Secret Service: a private D-Bus session bus (dbus-run-session) and a freshly
# created, unlocked gnome-keyring in a throwaway HOME, so tests never see (or touch) the user's keyring
# and every run starts empty. DISPLAY is unset: a prompt (locked keyring) must fail, not open a window.
#
# The daemon is started by the bus itself (D-Bus activation), from a service file of this run's own that
# unlocks the login keyring with the run's password, as a desktop's login does. So if gnome-keyring ends
# during the run, the next request starts it again unlocked, instead of the stock service file's daemon,
# whose keyring is locked and whose unlock prompt cannot open here: every keychain test after it would
# fail. gnome-keyring 42 does end under many concurrent clients: "gkd_secret_service_get_pkcs11_session:
# assertion 'client' failed", then an abort in g_variant_new (upstream issues 190, 196, 199): a client
# whose first call is OpenSession can find no record of itself. Reproduced here with @napi-rs/keyring's
# calls alone (about one crash in 2000 connections); onramp's plain read now opens its session only after
# a first answer (secret-service.ts), but writes go through the library. CI met it once, in a storm of 16
# `onramp token`. Each restart is reported on stderr at the end, with what the daemon printed: never silent.
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
  stock_conf=/usr/share/dbus-1/session.conf
  [ -f "$stock_conf" ] || { echo "$0: $stock_conf is missing (apt-get install dbus)" >&2; exit 127; }
  keyring_home="$(mktemp -d "${TMPDIR:-/tmp}/onramp-keyring-XXXXXX")"
  trap 'rm -rf "$keyring_home"' EXIT
  # The path goes unquoted into a service file's Exec= line, a shell script and XML: plain characters only.
  case "$keyring_home" in
    *[!A-Za-z0-9/._-]*) echo "$0: TMPDIR must be a plain path (letters, digits, / . _ -): $keyring_home" >&2; exit 2 ;;
  esac
  mkdir -m 700 "$keyring_home/data" "$keyring_home/run" "$keyring_home/services"
  (umask 077 && printf '%s' "onramp-test-keyring" >"$keyring_home/password")
  # The daemon, as the bus starts it: --unlock reads the password on stdin (and creates the login
  # keyring with it when there is none); --foreground keeps it the process the bus watches.
  cat >"$keyring_home/start-keyring" <<EOF
#!/bin/sh
echo started >>"$keyring_home/daemon.starts"
exec gnome-keyring-daemon --foreground --unlock --components=secrets <"$keyring_home/password" >>"$keyring_home/daemon.log" 2>&1
EOF
  chmod 700 "$keyring_home/start-keyring"
  printf '[D-BUS Service]\nName=org.freedesktop.secrets\nExec=%s\n' "$keyring_home/start-keyring" \
    >"$keyring_home/services/org.freedesktop.secrets.service"
  # The stock session bus, with this run's service folder first: for a name found twice, the first wins.
  cat >"$keyring_home/session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <servicedir>$keyring_home/services</servicedir>
  <include>$stock_conf</include>
</busconfig>
EOF
  # Re-enter this script inside the private bus; the daemon dies with the bus when CMD ends.
  status=0
  env -u DISPLAY -u WAYLAND_DISPLAY -u GNOME_KEYRING_CONTROL -u SSH_AUTH_SOCK \
    HOME="$keyring_home" XDG_DATA_HOME="$keyring_home/data" XDG_RUNTIME_DIR="$keyring_home/run" \
    ONRAMP_REAL_HOME="$HOME" ONRAMP_REAL_XDG_DATA_HOME="${XDG_DATA_HOME:-}" ONRAMP_IN_PRIVATE_BUS=1 \
    ONRAMP_KEYRING_HOME="$keyring_home" \
    dbus-run-session --config-file="$keyring_home/session.conf" -- "$0" "$@" || status=$?
  starts=0
  [ -f "$keyring_home/daemon.starts" ] && starts=$(wc -l <"$keyring_home/daemon.starts")
  if [ "$starts" -gt 1 ]; then
    echo "$0: gnome-keyring-daemon ended $((starts - 1)) time(s) during the run and the bus started it again (unlocked); what it printed:" >&2
    grep -v '^GNOME_KEYRING_CONTROL=\|^SSH_AUTH_SOCK=' "$keyring_home/daemon.log" | tail -n 40 >&2 || true
  fi
  # A plain session is only ever opened by onramp's own read, which must never be what crashed the daemon.
  if grep -q 'plain_negotiate: assertion' "$keyring_home/daemon.log" 2>/dev/null; then
    echo "$0: gnome-keyring-daemon crashed opening a *plain* session, which only onramp's plain read opens (secret-service.ts must open it only after a first answer): failing the run" >&2
    [ "$status" -ne 0 ] || status=1
  fi
  exit "$status"
fi

# Readiness: a real store/lookup/clear round trip (the first call starts the daemon through the bus),
# retried while the daemon settles.
probe="ready-$$-$RANDOM"
for attempt in $(seq 1 50); do
  if printf '%s' "$probe" | timeout 5 secret-tool store --label='onramp readiness probe' onramp-probe "$probe" 2>/dev/null \
    && [ "$(timeout 5 secret-tool lookup onramp-probe "$probe" 2>/dev/null)" = "$probe" ]; then
    timeout 5 secret-tool clear onramp-probe "$probe" || true
    break
  fi
  if [ "$attempt" -eq 50 ]; then
    echo "$0: the Secret Service did not become ready (gnome-keyring-daemon on a private bus); it printed:" >&2
    cat "$ONRAMP_KEYRING_HOME/daemon.log" >&2 2>/dev/null || true
    exit 1
  fi
  sleep 0.1
done

# For tests that must tell a daemon restart (an external crash) from a failure of their own.
export ONRAMP_KEYRING_STARTS="$ONRAMP_KEYRING_HOME/daemon.starts" ONRAMP_KEYRING_LOG="$ONRAMP_KEYRING_HOME/daemon.log"
unset ONRAMP_IN_PRIVATE_BUS ONRAMP_KEYRING_HOME
# The keyring needed a throwaway HOME; CMD gets the caller's back (npm and npx caches live there).
export HOME="$ONRAMP_REAL_HOME"
if [ -n "$ONRAMP_REAL_XDG_DATA_HOME" ]; then export XDG_DATA_HOME="$ONRAMP_REAL_XDG_DATA_HOME"; else unset XDG_DATA_HOME; fi
unset ONRAMP_REAL_HOME ONRAMP_REAL_XDG_DATA_HOME
exec "$@"
