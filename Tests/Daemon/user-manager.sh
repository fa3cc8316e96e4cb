#!/bin/bash
# edgelm.socket and edgelm.service under a real systemd: a user manager in a private mount
# namespace (the test machine's PID 1 is not systemd). The socket starts the service on the first
# connection, a SIGKILLed daemon is restarted, a wedged one is restarted by the watchdog.
# Usage: user-manager.sh EDGELMD MODEL.gguf   (as root; prints each step, exits non-zero on failure)
set -euo pipefail
if [ "${1:-}" != --inside ]; then
  edgelmd=$(realpath "$1")
  model=$(realpath "$2")
  units=$(cd "$(dirname "$0")/../.." && pwd)/Units
  # Not under /tmp: the unit's PrivateTmp= would hide it from the service.
  scratch=$(mktemp -d /var/tmp/edgelm-manager.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
  unshare -m --propagation private "$0" --inside "$edgelmd" "$model" "$units" "$scratch"
  exit
fi

edgelmd=$2 model=$3 units=$4 scratch=$5
step() { echo "user-manager: $*"; }
fail() {
  echo "user-manager: FAILED: $*"
  systemctl --user status edgelm.service edgelm.socket --no-pager 2>&1 | tail -30 || true
  tail -20 "$scratch/manager.log" || true
  exit 1
}

mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system /run/user/0
# The unit's PrivateTmp= hides /tmp and /var/tmp from the service, and the checkout may live
# there: the daemon and its model are copied to this namespace's /run.
mkdir -p /run/edgelm-test
cp "$edgelmd" "$model" /run/edgelm-test/
edgelmd=/run/edgelm-test/$(basename "$edgelmd")
model=/run/edgelm-test/$(basename "$model")
# Every XDG directory points into the scratch folder: a user manager maps StateDirectory= and
# CacheDirectory= there, and the real ~/.cache holds the model cache.
export XDG_RUNTIME_DIR=/run/user/0 XDG_CONFIG_HOME=$scratch/config XDG_CACHE_HOME=$scratch/cache \
       XDG_STATE_HOME=$scratch/state XDG_DATA_HOME=$scratch/data
user_units=$XDG_CONFIG_HOME/systemd/user
mkdir -p "$user_units/edgelm.service.d" "$user_units/edgelm.socket.d"
cp "$units/edgelm.socket" "$units/edgelm.service" "$user_units/"
# The shipped files stay as they are; drop-ins remove what a user manager cannot apply
# (226/NAMESPACE), the system user and group it has no use for, and shorten the watchdog.
printf '%s\n' '[Service]' 'User=' 'Group=' 'ProtectHome=no' 'ProtectKernelTunables=no' 'ProtectKernelLogs=no' \
  'WatchdogSec=4s' 'RestartSec=1s' 'ExecStart=' \
  "ExecStart=$edgelmd --model $model --slots 2 --ctx 512 --test-hooks" > "$user_units/edgelm.service.d/test.conf"
printf '%s\n' '[Socket]' 'SocketGroup=' > "$user_units/edgelm.socket.d/test.conf"

/lib/systemd/systemd --user > "$scratch/manager.log" 2>&1 &
manager=$!
trap 'kill $manager 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  systemctl --user show-environment >/dev/null 2>&1 && break
  sleep 0.1
done
systemctl --user daemon-reload
systemctl --user start edgelm.socket
sock=/run/edgelm/edgelm.sock
[ -S "$sock" ] || fail "the socket unit did not create $sock"
if systemctl --user is-active --quiet edgelm.service; then fail "the service started before any connection"; fi
step "socket listening, service inactive"

api() { curl -s -m 60 --unix-socket "$sock" "$@"; }
wait_ready() {
  for _ in $(seq 300); do
    [ "$(api -o /dev/null -w '%{http_code}' http://localhost/health)" = 200 ] && return 0
    if systemctl --user is-failed --quiet edgelm.service; then fail "the service failed"; fi
    sleep 0.2
  done
  fail "service not ready"
}
chat() {
  api -o /dev/null -w '%{http_code}' http://localhost/v1/chat/completions \
    -d '{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}'
}
main_pid() { systemctl --user show -p MainPID --value edgelm.service; }
wait_new_pid() {
  local old=$1 new=0
  for _ in $(seq 300); do
    new=$(main_pid)
    if [ "$new" != 0 ] && [ "$new" != "$old" ]; then echo "$new"; return 0; fi
    sleep 0.1
  done
  echo 0
}

wait_ready
systemctl --user is-active --quiet edgelm.service || fail "the first connection did not start the service"
[ "$(chat)" = 200 ] || fail "first request"
step "the first connection started the service; request served"

pid=$(main_pid)
kill -9 "$pid"
new=$(wait_new_pid "$pid")
[ "$new" != 0 ] || fail "no restart after kill -9"
wait_ready
[ "$(chat)" = 200 ] || fail "request after the restart"
step "kill -9 of $pid: restarted as $new, next request served"

pid=$new
api -X POST http://localhost/edgelm/v1/debug/wedge > /dev/null
new=$(wait_new_pid "$pid")
[ "$new" != 0 ] || fail "the watchdog did not restart the wedged daemon"
wait_ready
[ "$(chat)" = 200 ] || fail "request after the watchdog restart"
# The wedge hook only stops the engine thread: nothing but the watchdog ends that process.
restarts=$(systemctl --user show -p NRestarts --value edgelm.service)
[ "$restarts" = 2 ] || fail "expected 2 restarts (kill -9, watchdog), saw $restarts"
step "wedged daemon $pid restarted by the watchdog as $new (restarts: $restarts), next request served"

systemctl --user stop edgelm.service edgelm.socket
step "passed"
