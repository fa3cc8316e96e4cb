#!/bin/sh
# End-to-end test of the Debian package: build, install, check the units, upgrade with a
# locally changed conffile, remove, purge. Run as root on a machine where edgelm is not
# installed; the machine is left as it was found, on failure too.
#
#   Tests/Packaging/deb-test.sh BIN_DIR     (BIN_DIR holds the built edgelm and edgelmd)
#
# Needs: dpkg, binutils (readelf, strip), systemd (systemd-analyze, systemd-sysusers,
# systemd-tmpfiles), init-system-helpers (deb-systemd-helper). systemd need not be running.
set -eu

max_exposure=2.0
max_update_exposure=1.5

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build_deb="$repo/Packaging/build-deb.sh"
units=/lib/systemd/system
conf=/etc/edgelm/edgelmd.yaml
update_conf=/etc/edgelm/edgelm.yaml
all_units="$units/edgelm.socket $units/edgelm.service $units/edgelm-update.service $units/edgelm-update.timer"

passed=0
step() { echo "==> $*"; }
ok() { echo "    ok: $*"; }
info() { echo "    info: $*"; }
fail() {
	echo "deb-test: FAIL: $*" >&2
	echo "deb-test: $passed passed, 1 failed"
	exit 1
}
done_step() { passed=$((passed + 1)); }

[ $# -eq 1 ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
bin_dir=$(cd "$1" && pwd) || { echo "deb-test: no directory $1" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "deb-test: must run as root (it installs and purges a package)" >&2; exit 2; }
for tool in dpkg dpkg-deb systemd-analyze deb-systemd-helper readelf strip; do
	command -v "$tool" >/dev/null 2>&1 || { echo "deb-test: $tool is missing" >&2; exit 2; }
done

# Status of the edgelm package, empty when dpkg does not know it at all.
pkg_status() { dpkg-query -W -f='${Status}' edgelm 2>/dev/null || true; }
not_installed() { case "$(pkg_status)" in ''|*not-installed) return 0 ;; *) return 1 ;; esac; }

# Never purge someone's real installation.
not_installed || { echo "deb-test: edgelm is installed here ($(pkg_status)); remove it first" >&2; exit 2; }

# The package keeps its system user on purge (Debian policy); the test removes the one it caused.
had_user=no had_group=no
getent passwd edgelm >/dev/null && had_user=yes
getent group edgelm >/dev/null && had_group=yes

work=$(mktemp -d)
cleanup() {
	status=$?
	set +e
	if ! not_installed; then
		echo "==> cleanup: purging edgelm"
		dpkg --purge edgelm >/dev/null 2>&1 || dpkg --purge --force-all edgelm
	fi
	[ "$had_user" = yes ] || ! getent passwd edgelm >/dev/null || userdel edgelm
	[ "$had_group" = yes ] || ! getent group edgelm >/dev/null || groupdel edgelm
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DEBIAN_FRONTEND=noninteractive
arch=$(dpkg --print-architecture)

# check_absent PATH...: each path must not exist (not even as a dangling symlink).
check_absent() {
	for p in "$@"; do
		if [ -e "$p" ] || [ -L "$p" ]; then fail "$p still exists"; fi
	done
}
check_present() {
	for p in "$@"; do [ -e "$p" ] || fail "$p is missing"; done
}
# check_owner PATH OWNER:GROUP MODE
check_owner() {
	got=$(stat -c '%U:%G %a' "$1" 2>/dev/null) || fail "$1 is missing"
	[ "$got" = "$2 $3" ] || fail "$1 is '$got', expected '$2 $3'"
}

# --- a. build and install 0.1.0 -------------------------------------------------------------
step "a. build 0.1.0 from $bin_dir and install it"
deb=$("$build_deb" --arch "$arch" --version 0.1.0 --bin-dir "$bin_dir" --out "$work/0.1.0") ||
	fail "build-deb.sh failed"
ok "built $(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
dpkg -i "$deb" || fail "dpkg -i $deb failed"
[ "$(pkg_status)" = "install ok installed" ] || fail "package status is '$(pkg_status)'"
getent group edgelm >/dev/null || fail "group edgelm was not created"
user=$(getent passwd edgelm) || fail "user edgelm was not created"
IFS=: read -r _ _ uid gid _ home shell <<EOF
$user
EOF
[ "$gid" = "$(getent group edgelm | cut -d: -f3)" ] || fail "user edgelm's primary group is not edgelm"
[ "$home" = /var/lib/edgelm ] || fail "user edgelm's home is $home"
case "$shell" in */nologin|/bin/false) ;; *) fail "user edgelm has a login shell: $shell" ;; esac
ok "user edgelm (uid $uid, system account, home $home, shell $shell)"
for exe in /usr/bin/edgelm /usr/bin/edgelmd; do [ -x "$exe" ] || fail "$exe is missing or not executable"; done
# shellcheck disable=SC2086  # $all_units is a list of paths without spaces
check_present $all_units /usr/lib/sysusers.d/edgelm.conf \
	/usr/lib/tmpfiles.d/edgelm.conf /usr/share/doc/edgelm/copyright "$conf" "$update_conf"
ok "binaries, units, sysusers.d, tmpfiles.d, $conf, $update_conf installed"
conffiles=$(dpkg-query -W -f='${Conffiles}' edgelm | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$conffiles" = "$update_conf $conf " ] || fail "conffiles are '$conffiles'"
ok "conffiles: $conffiles"
check_owner /run/edgelm edgelm:edgelm 750
check_owner /var/lib/edgelm edgelm:edgelm 750
check_owner /var/lib/edgelm/models edgelm:edgelm 750
check_owner /var/lib/edgelm/staging edgelm:edgelm 750
check_owner /var/cache/edgelm edgelm:edgelm 750
ok "/run/edgelm, /var/lib/edgelm{,/models,/staging}, /var/cache/edgelm: edgelm:edgelm 0750"
# The update service may write only the staging area, so the store's layout must exist already.
check_owner /var/lib/edgelm/layout edgelm:edgelm 644
[ "$(cat /var/lib/edgelm/layout)" = 1 ] || fail "/var/lib/edgelm/layout holds '$(cat /var/lib/edgelm/layout)', not 1"
ok "/var/lib/edgelm/layout: store layout 1"
wants=/etc/systemd/system/sockets.target.wants/edgelm.socket
[ -L "$wants" ] || fail "edgelm.socket is not enabled ($wants is not a symlink)"
[ "$(readlink "$wants")" = "$units/edgelm.socket" ] || fail "$wants points to $(readlink "$wants")"
ok "edgelm.socket enabled ($wants)"
timer_wants=/etc/systemd/system/timers.target.wants/edgelm-update.timer
[ -L "$timer_wants" ] || fail "edgelm-update.timer is not enabled ($timer_wants is not a symlink)"
[ "$(readlink "$timer_wants")" = "$units/edgelm-update.timer" ] || fail "$timer_wants points to $(readlink "$timer_wants")"
ok "edgelm-update.timer enabled ($timer_wants)"
# The update service is static: started by the timer only, never enabled on its own.
left=$(find /etc/systemd/system -name 'edgelm-update.service' 2>/dev/null || true)
[ -z "$left" ] || fail "edgelm-update.service has enable links: $left"
ok "edgelm-update.service static (no enable links)"
# The installed binary accepts the shipped configuration (and finds no model yet: first boot).
out=$(/usr/bin/edgelmd --config /etc/edgelm/edgelmd.yaml --check-config) || fail "edgelmd --check-config refused the shipped configuration"
ok "edgelmd --check-config: $out"
# What the timer runs, as the service's user: the shipped file lists no models, so it succeeds.
out=$(setpriv --reuid=edgelm --regid=edgelm --init-groups /usr/bin/edgelm update --config "$update_conf" 2>&1) ||
	fail "edgelm update refused the shipped $update_conf: $out"
ok "edgelm update (as edgelm): $out"
done_step

# --- b. systemd-analyze verify ----------------------------------------------------------------
step "b. systemd-analyze verify on the installed units"
# shellcheck disable=SC2086
if ! systemd-analyze verify $all_units >"$work/verify.out" 2>"$work/verify.err"; then
	cat "$work/verify.out" "$work/verify.err" >&2
	fail "systemd-analyze verify exited non-zero"
fi
if [ -s "$work/verify.err" ]; then
	cat "$work/verify.err" >&2
	fail "systemd-analyze verify printed warnings"
fi
ok "exit 0, nothing on stderr"
done_step

# --- c. exposure ------------------------------------------------------------------------------
step "c. systemd-analyze security --offline=true edgelm.service, edgelm-update.service"
systemd-analyze security --offline=true --no-pager "$units/edgelm.service" >"$work/security.out" 2>&1 ||
	{ cat "$work/security.out" >&2; fail "systemd-analyze security failed"; }
exposure=$(sed -n 's/.*Overall exposure level for edgelm\.service: \([0-9.]*\).*/\1/p' "$work/security.out")
[ -n "$exposure" ] || { cat "$work/security.out" >&2; fail "no overall exposure level in the output"; }
if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e > m) }'; then
	grep '✗' "$work/security.out" >&2 || true
	fail "exposure $exposure is above $max_exposure"
fi
ok "overall exposure $exposure (limit $max_exposure)"
# The updater keeps IP sockets, so it cannot score as low as the daemon.
systemd-analyze security --offline=true --no-pager "$units/edgelm-update.service" >"$work/security-update.out" 2>&1 ||
	{ cat "$work/security-update.out" >&2; fail "systemd-analyze security failed for edgelm-update.service"; }
exposure=$(sed -n 's/.*Overall exposure level for edgelm-update\.service: \([0-9.]*\).*/\1/p' "$work/security-update.out")
[ -n "$exposure" ] || { cat "$work/security-update.out" >&2; fail "no overall exposure level for edgelm-update.service"; }
if awk -v e="$exposure" -v m="$max_update_exposure" 'BEGIN { exit !(e > m) }'; then
	grep '✗' "$work/security-update.out" >&2 || true
	fail "edgelm-update.service exposure $exposure is above $max_update_exposure"
fi
ok "edgelm-update.service overall exposure $exposure (limit $max_update_exposure)"
done_step

# --- d. upgrade, keeping a locally changed conffile -------------------------------------------
step "d. upgrade to 0.1.1 with a locally changed $conf"
echo "# local change kept across upgrades" >> "$conf"
local_sum=$(md5sum < "$conf")
# The new version also changes the default file, so dpkg has a real conflict to resolve.
cp "$repo/Packaging/edgelmd.yaml" "$work/edgelmd-0.1.1.yaml"
echo "# default changed in 0.1.1" >> "$work/edgelmd-0.1.1.yaml"
deb=$("$build_deb" --arch "$arch" --version 0.1.1 --bin-dir "$bin_dir" --out "$work/0.1.1" \
	--config "$work/edgelmd-0.1.1.yaml") || fail "build-deb.sh failed for 0.1.1"
dpkg -i --force-confdef --force-confold "$deb" </dev/null || fail "upgrade with dpkg -i failed"
version=$(dpkg-query -W -f='${Version}' edgelm)
[ "$version" = 0.1.1 ] || fail "installed version is $version after the upgrade"
[ "$(pkg_status)" = "install ok installed" ] || fail "package status is '$(pkg_status)'"
[ "$(md5sum < "$conf")" = "$local_sum" ] || fail "the local change to $conf was not kept"
[ -f "$conf.dpkg-dist" ] || fail "the new default was not set aside as $conf.dpkg-dist"
[ -L "$wants" ] || fail "edgelm.socket is no longer enabled after the upgrade"
[ -L "$timer_wants" ] || fail "edgelm-update.timer is no longer enabled after the upgrade"
ok "dpkg-query: edgelm $version; local $conf kept, new default in $conf.dpkg-dist; socket and timer still enabled"
done_step

# --- e. remove, then purge --------------------------------------------------------------------
step "e. dpkg --remove, then dpkg --purge"
dpkg --remove edgelm || fail "dpkg --remove failed"
case "$(pkg_status)" in *config-files) ;; *) fail "status after remove is '$(pkg_status)'" ;; esac
# shellcheck disable=SC2086
check_absent /usr/bin/edgelm /usr/bin/edgelmd $all_units
check_present "$conf" "$update_conf" /var/lib/edgelm/models
ok "binaries and units gone; $conf, $update_conf and /var/lib/edgelm/models kept"
dpkg --purge edgelm || fail "dpkg --purge failed"
# shellcheck disable=SC2086
check_absent /etc/edgelm /var/lib/edgelm /var/cache/edgelm /run/edgelm /usr/bin/edgelm /usr/bin/edgelmd \
	$all_units /usr/lib/sysusers.d/edgelm.conf /usr/lib/tmpfiles.d/edgelm.conf /usr/share/doc/edgelm \
	"$wants" "$timer_wants"
left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
	/var/lib/systemd/deb-systemd-helper-masked -name '*edgelm*' 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
not_installed || fail "dpkg still knows edgelm after purge: $(pkg_status)"
dpkg -l edgelm 2>/dev/null | grep -q '^ii' && fail "dpkg -l edgelm still lists it as installed"
ok "no files, directories, enable links (socket, timer) or dpkg state left"
if getent passwd edgelm >/dev/null; then
	info "system user edgelm remains after purge, as Debian policy advises (the test removes it)"
fi
done_step

echo "deb-test: $passed passed, 0 failed"
