#!/bin/sh
# Builds the edgelm Debian package from binaries that are already built.
#
#   Packaging/build-deb.sh --arch amd64|arm64 --version 0.1.0 --bin-dir DIR --out DIR
#                          [--config FILE]
#
# DIR holds `edgelm` and `edgelmd` with the Swift runtime linked in (Packaging/link-static.py). They are
# copied and the copies stripped; the originals are never touched. Writes
# OUT/edgelm_VERSION_ARCH.deb. Runs as any user: --root-owner-group makes every file root's
# inside the package. --config packs another default configuration (the upgrade test uses it).
# Honours SOURCE_DATE_EPOCH for file dates and the changelog.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

die() { echo "build-deb: error: $*" >&2; exit 1; }
usage() { sed -n '4,5p' "$0" | sed 's/^#//' >&2; exit 2; }

arch= version= bin_dir= out= config="$here/edgelmd.yaml"
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
	--version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
	--bin-dir) [ $# -ge 2 ] || usage; bin_dir=$2; shift 2 ;;
	--out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--config) [ $# -ge 2 ] || usage; config=$2; shift 2 ;;
	-h|--help) usage ;;
	*) echo "build-deb: unknown argument: $1" >&2; usage ;;
	esac
done
[ -n "$arch" ] && [ -n "$version" ] && [ -n "$bin_dir" ] && [ -n "$out" ] || usage
case "$arch" in amd64|arm64) ;; *) die "--arch must be amd64 or arm64, not '$arch'" ;; esac
# Debian version syntax, upstream part only (no epoch): starts with a digit.
printf '%s\n' "$version" | grep -Eq '^[0-9][A-Za-z0-9.+~-]*$' || die "bad --version '$version'"
for exe in edgelm edgelmd; do
	[ -f "$bin_dir/$exe" ] && [ -x "$bin_dir/$exe" ] || die "$bin_dir/$exe is missing or not executable"
done
[ -f "$config" ] || die "no configuration file at $config"
[ -f "$here/edgelm.yaml" ] || die "no configuration file at $here/edgelm.yaml"
for tool in dpkg-deb readelf gzip; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is required (packages: dpkg, binutils, gzip)"
done

# The strip that understands the target's ELF files.
host_arch=$(dpkg --print-architecture)
if [ "$arch" = "$host_arch" ]; then
	strip_tool=strip
elif [ "$arch" = arm64 ]; then
	strip_tool=aarch64-linux-gnu-strip
else
	strip_tool=x86_64-linux-gnu-strip
fi

umask 022
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
root="$work/root"

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# --- files ------------------------------------------------------------------------------------
install -d "$root/usr/bin"
elf_bins=
for exe in edgelm edgelmd; do
	cp "$bin_dir/$exe" "$root/usr/bin/$exe"
	chmod 0755 "$root/usr/bin/$exe"
	if is_elf "$root/usr/bin/$exe"; then
		machine=$(readelf -h "$root/usr/bin/$exe" | sed -n 's/^ *Machine: *//p')
		case "$arch:$machine" in
		amd64:*X86-64*|arm64:*AArch64*) ;;
		*) die "$bin_dir/$exe is built for '$machine', not $arch" ;;
		esac
		command -v "$strip_tool" >/dev/null 2>&1 ||
			die "$strip_tool is required to strip $arch binaries (binutils or binutils-aarch64-linux-gnu)"
		# .comment only holds compiler versions; symbol tables and debug info go too.
		"$strip_tool" --remove-section=.comment "$root/usr/bin/$exe"
		elf_bins="$elf_bins $exe"
	else
		echo "build-deb: note: $exe is not an ELF file; packed as is" >&2
	fi
done

# Units in /lib, not /usr/lib: bookworm's dpkg tracks paths literally, and packages must not
# move files across the merged-/usr aliases yet. systemd reads both.
install -d "$root/lib/systemd/system"
install -m 0644 "$repo/Units/edgelm.socket" "$repo/Units/edgelm.service" \
	"$repo/Units/edgelm-update.service" "$repo/Units/edgelm-update.timer" "$root/lib/systemd/system/"
install -d "$root/usr/lib/sysusers.d" "$root/usr/lib/tmpfiles.d"
install -m 0644 "$here/sysusers.d/edgelm.conf" "$root/usr/lib/sysusers.d/edgelm.conf"
install -m 0644 "$here/tmpfiles.d/edgelm.conf" "$root/usr/lib/tmpfiles.d/edgelm.conf"
install -d "$root/etc/edgelm"
install -m 0644 "$config" "$root/etc/edgelm/edgelmd.yaml"
install -m 0644 "$here/edgelm.yaml" "$root/etc/edgelm/edgelm.yaml"

doc="$root/usr/share/doc/edgelm"
install -d "$doc"
install -m 0644 "$here/copyright" "$doc/copyright"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	stamp=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
else
	stamp=$(date -u -R)
fi
maintainer="edgelm maintainers <maintainers@edgelm.invalid>"
cat > "$work/changelog.Debian" <<EOF
edgelm ($version) unstable; urgency=medium

  * Release $version.

 -- $maintainer  $stamp
EOF
gzip -9n < "$work/changelog.Debian" > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# --- dependencies -----------------------------------------------------------------------------
# From the binaries' NEEDED entries, each shared library mapped to its bookworm package; libc6
# and libsystemd0 get the lowest version that has every symbol version the binaries ask for.
# An unknown library stops the build: add it here rather than ship a package that cannot run.
package_of() {
	case "$1" in
	libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|librt.so.1|libutil.so.1|ld-linux-*) echo libc6 ;;
	libsystemd.so.0) echo libsystemd0 ;;
	libzstd.so.1) echo libzstd1 ;;
	libstdc++.so.6) echo libstdc++6 ;;
	libgcc_s.so.1) echo libgcc-s1 ;;
	libz.so.1) echo zlib1g ;;
	liblzma.so.5) echo liblzma5 ;;
	libcurl.so.4) echo libcurl4 ;;
	libxml2.so.2) echo libxml2 ;;
	libuuid.so.1) echo libuuid1 ;;
	*) return 1 ;;
	esac
}
# Run in usr/bin of the package root, over the ELF executables' names ($elf_bins).
highest() { # PREFIX: the highest N among the PREFIX_N symbol versions the binaries need
	# shellcheck disable=SC2086  # word splitting of our own file names is intended
	readelf -V $elf_bins | grep -oE "${1}_[0-9][0-9.]*" | sed "s/^${1}_//" | sort -uV | tail -n 1
}
if [ -n "$elf_bins" ]; then
	cd "$root/usr/bin"
	deps=
	# shellcheck disable=SC2086
	libs=$(readelf -d $elf_bins | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' | sort -u)
	pkgs=
	for lib in $libs; do
		pkg=$(package_of "$lib") || die "no package known for shared library $lib (see package_of in $0)"
		pkgs="$pkgs $pkg"
	done
	# shellcheck disable=SC2086
	for pkg in $(printf '%s\n' $pkgs | sort -u); do
		case "$pkg" in
		libc6) v=$(highest GLIBC) ;;
		libsystemd0) v=$(highest LIBSYSTEMD) ;;
		*) v= ;;
		esac
		deps="$deps${deps:+, }$pkg${v:+ (>= $v)}"
	done
	cd "$work"
else
	# Placeholders (packaging tests before the daemon exists): what the daemon is meant to link.
	deps="libc6, libsystemd0, libzstd1"
fi
# /bin/kill for ExecReload; systemd-sysusers (or adduser) for the account in postinst.
deps="$deps, procps, systemd | systemd-standalone-sysusers | adduser"

# --- control ----------------------------------------------------------------------------------
install -d -m 0755 "$root/DEBIAN"
for script in postinst prerm postrm; do
	install -m 0755 "$here/maintainer/$script" "$root/DEBIAN/$script"
done
printf '%s\n' /etc/edgelm/edgelmd.yaml /etc/edgelm/edgelm.yaml > "$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: edgelm
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $deps
Section: misc
Priority: optional
Description: local LLM inference engine and daemon
 edgelm runs GGUF language models on the CPU. edgelmd serves them over HTTP on a
 Unix socket (/run/edgelm/edgelm.sock), started on demand by systemd socket
 activation and confined by a strict sandbox; members of the edgelm group may
 connect. The edgelm command line tool runs, benchmarks and manages models;
 edgelm-update.timer keeps the configured models updated from a signed channel.
EOF
chmod 0644 "$root/DEBIAN/control"

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
fi

mkdir -p "$out"
deb="$out/edgelm_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
