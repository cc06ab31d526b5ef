#!/bin/bash
# Usage: lua-source.sh CACHE_DIR
#
# Fetches and unpacks Debian's lua5.4 source package under CACHE_DIR and
# prints the absolute path of the unpacked tree, which builds its interpreter
# with only gcc and libc: `make -C TREE linux -j2` gives TREE/src/lua. The host's apt setup is only
# read, never changed: the deb-src entries, the package lists and the
# downloads all live under CACHE_DIR/apt, and apt is pointed there with -o.
# A second run finds the tree and only prints its path.
set -euo pipefail

die() {
	echo "lua-source.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: lua-source.sh CACHE_DIR"
mkdir -p "$1"
cache=$(cd "$1" && pwd -P)

find_tree() {
	local d
	for d in "$cache"/lua5.4-*/; do
		# Only a fully prepared tree carries the stamp.
		[ -f "$d/src/lua.c" ] && [ -f "$d/.pinfold-plain-make" ] && { echo "${d%/}"; return 0; }
	done
	return 1
}

if find_tree; then
	exit 0
fi

# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"

# Prints "URI SUITE COMPONENTS... ; SIGNED-BY" for every binary entry of the
# host's one-line .list files and deb822 .sources files.
host_entries() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk '
		/^[ \t]*deb[ \t]/ {
			sub(/#.*/, "")
			signed = ""
			i = 2
			if ($2 ~ /^\[/) {
				while (i <= NF) {
					o = $i
					gsub(/[][]/, "", o)
					if (o ~ /^signed-by=/) { sub(/^signed-by=/, "", o); signed = o }
					if ($i ~ /\]$/) { i++; break }
					i++
				}
			}
			line = $i " " $(i + 1)
			for (j = i + 2; j <= NF; j++) line = line " " $j
			print line " ; " signed
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush(   u, s, nu, ns, a, b) {
			if (types ~ /(^| )deb( |$)/ && enabled != "no" && uris != "" && suites != "") {
				nu = split(uris, a, " ")
				ns = split(suites, b, " ")
				for (u = 1; u <= nu; u++)
					for (s = 1; s <= ns; s++)
						print a[u] " " b[s] " " comps " ; " signed
			}
			types = uris = suites = comps = signed = enabled = ""
			field = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ {
			# A continuation line: only an inline key block uses one here,
			# and an inline key cannot be copied into a one-line entry.
			if (field == "signed-by") signed = ""
			next
		}
		{
			field = tolower($1)
			sub(/:$/, "", field)
			val = $0
			sub(/^[^:]*:[ \t]*/, "", val)
			gsub(/[ \t]+/, " ", val)
			if (field == "types") types = val
			else if (field == "uris") uris = val
			else if (field == "suites") suites = val
			else if (field == "components") comps = val
			else if (field == "signed-by") signed = val
			else if (field == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
}

# Keep the host's Debian suites for this release (bookworm, bookworm-updates,
# bookworm-security) and drop third-party repositories, whose suites are named
# otherwise; the newest lua5.4 may sit in -security or -updates.
apt_dir="$cache/apt"
mkdir -p "$apt_dir/state/lists/partial" "$apt_dir/cache/archives/partial" \
	"$apt_dir/sources.list.d" "$apt_dir/download"
list="$apt_dir/sources.list"
: >"$list.tmp"
while read -r uri suite rest; do
	case "$suite" in
	"$codename" | "$codename"-*) ;;
	*) continue ;;
	esac
	comps=${rest%;*}
	comps=${comps% }
	signed=${rest##*;}
	signed=${signed# }
	[ -n "$comps" ] || comps=main
	if [ -n "$signed" ]; then
		echo "deb-src [signed-by=$signed] $uri $suite $comps" >>"$list.tmp"
	else
		echo "deb-src $uri $suite $comps" >>"$list.tmp"
	fi
done < <(host_entries)
[ -s "$list.tmp" ] || die "no Debian '$codename' entry found in /etc/apt/sources.list{,.d}"
mv "$list.tmp" "$list"

# Dir::State::status stays the host's dpkg status (it is an absolute path);
# everything apt writes goes below $apt_dir. The _apt sandbox user is not
# used because the download directory is root's and need not be opened up.
apt_opts=(
	-o "Dir::State=$apt_dir/state"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::Etc::SourceList=$list"
	-o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
	-o "APT::Sandbox::User=root"
)

apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update failed (sources: $list)"
rm -f "$apt_dir"/download/*.dsc
(cd "$apt_dir/download" && apt-get "${apt_opts[@]}" -q source --download-only lua5.4 >&2) ||
	die "apt-get source lua5.4 failed"

dsc=
for f in "$apt_dir"/download/lua5.4_*.dsc; do
	[ -f "$f" ] && dsc=$f
done
[ -n "$dsc" ] || die "no lua5.4 .dsc in $apt_dir/download"
version=$(sed -n 's/^Version: //p' "$dsc")
upstream=${version#*:}
upstream=${upstream%-*}

# Debian's first patch swaps upstream's plain Makefiles for a libtool build
# that needs libtool, g++ and debian/rules. The tree is unpacked without the
# patches and every other patch (Lua path settings and security fixes) is
# applied by hand, so `make linux` builds src/lua with gcc and libc alone.
# The one header debian/rules would generate for the path patch is written
# here the same way.
# Unpacking happens beside the final name and is renamed at the end, so an
# interrupted run never leaves a half tree that find_tree would accept.
tmp="$cache/.extract.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
dpkg-source --skip-patches --no-copy -x "$dsc" "$tmp" >&2 || die "dpkg-source -x '$dsc' failed"
if [ -f "$tmp/debian/patches/series" ]; then
	while read -r patch _; do
		case "$patch" in
		'' | '#'* | *build-system*) continue ;;
		esac
		patch -d "$tmp" -p1 -s -N <"$tmp/debian/patches/$patch" >&2 ||
			die "patch '$patch' does not apply"
	done <"$tmp/debian/patches/series"
fi
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
printf '#ifndef _LUA_DEB_MULTIARCH_\n#define _LUA_DEB_MULTIARCH_\n%s\n#endif\n' \
	"#define DEB_HOST_MULTIARCH \"$multiarch\"" >"$tmp/src/lua5.4-deb-multiarch.h"
: >"$tmp/.pinfold-plain-make"

rm -rf "$cache/lua5.4-$upstream"
mv "$tmp" "$cache/lua5.4-$upstream"
find_tree || die "unpacked tree has no src/lua.c"
