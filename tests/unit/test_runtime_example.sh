#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The runtime library as a C runtime uses it, without root: `make install` into a scratch
# DESTDIR gives libcnic-runtime.a, cnic-runtime.h and cnic-runtime.pc; contrib/runtime/cnic-run.c
# compiles against that alone (pkg-config --static: no other archive of the tree); both that
# build and make's build/contrib/cnic-run run a two-plugin chain of fake plugins (ADD in order,
# CHECK, DEL in reverse, nothing left in the cache) and undo a failed ADD with DEL.
set -u
BUILD=${BUILD:-build}
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 1
failed=0
ok() { echo "ok - $1"; }
fail() {
	echo "not ok - $1: $2"
	failed=1
}
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

if [ ! -x "$BUILD/contrib/cnic-run" ]; then
	echo "skip - runtime example: $BUILD/contrib/cnic-run is not built"
	exit 0
fi
T=$(mktemp -d /tmp/cnic-test-rtex.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/net.d" "$T/bin" "$T/cache"
cat >"$T/net.d/10-ex.conflist" <<'EOF'
{"cniVersion": "1.1.0", "name": "ex", "plugins": [{"type": "fa"}, {"type": "fb"}]}
EOF
for p in fa fb; do
	cat >"$T/bin/$p" <<EOF
#!/bin/sh
cat >/dev/null
echo "$p \$CNI_COMMAND \$CNI_CONTAINERID \$CNI_IFNAME" >>"$T/log"
[ "\$CNI_COMMAND" = ADD ] && [ "$p" = fb ] && [ -e "$T/fail" ] && { echo '{"code":11,"msg":"no"}'; exit 1; }
[ "\$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.1.0","interfaces":[{"name":"$p"},{"name":"net1","sandbox":"/run/netns/none"}],"ips":[{"address":"10.9.0.2/24","gateway":"10.9.0.1","interface":1},{"address":"10.8.0.1/24","interface":0}]}'
exit 0
EOF
	chmod 0755 "$T/bin/$p"
done

# run_example NAME BINARY
run_example() {
	: >"$T/log"
	rm -f "$T/fail"
	out=$(CNI_PATH="$T/bin" CNI_CACHE_DIR="$T/cache" "$2" "$T/net.d" ex /run/netns/none ctr1 net1 2>&1)
	check_eq "$1: exits 0" "$?" 0
	case $out in
	*'network ex (cniVersion 1.1.0, 2 plugins)'*'result: {"cniVersion":"1.1.0","interfaces":[{"name":"fb"},'*'check: ok'*'del: ok'*)
		ok "$1: prints the network, the result, check and del" ;;
	*) fail "$1: prints the network, the result, check and del" "$out" ;;
	esac
	# the container's address (net1 in its netns), not the host side's 10.8.0.1
	case $out in
	*'address: 10.9.0.2/24 on net1 gateway 10.9.0.1'*) case $out in *"address: 10.8.0.1"*) fail "$1: prints the container's address only" "$out" ;;
		*) ok "$1: prints the container's address only" ;; esac ;;
	*) fail "$1: prints the container's address only" "$out" ;;
	esac
	check_eq "$1: the chain in order, DEL reversed" "$(tr '\n' ',' <"$T/log")" \
		"fa ADD ctr1 net1,fb ADD ctr1 net1,fa CHECK ctr1 net1,fb CHECK ctr1 net1,fb DEL ctr1 net1,fa DEL ctr1 net1,"
	check_eq "$1: nothing left in the cache" "$(find "$T/cache" -type f | wc -l)" 0
	: >"$T/log"
	touch "$T/fail"
	out=$(CNI_PATH="$T/bin" CNI_CACHE_DIR="$T/cache" "$2" "$T/net.d" ex /run/netns/none ctr1 2>&1)
	check_eq "$1: a failed add exits 1" "$?" 1
	case $out in
	*'cnic-run: add: plugin type="fb" failed (ADD): no (plugin 1, type fb, code 11)'*) ok "$1: the failed plugin is named" ;;
	*) fail "$1: the failed plugin is named" "$out" ;;
	esac
	check_eq "$1: a failed add is undone" "$(tr '\n' ',' <"$T/log")" \
		"fa ADD ctr1 eth0,fb ADD ctr1 eth0,fb DEL ctr1 eth0,fa DEL ctr1 eth0,"
}
run_example "make's cnic-run" "$BUILD/contrib/cnic-run"

# make install into a scratch DESTDIR (everything is built: nothing is compiled here)
if make -s --no-print-directory BUILD="$BUILD" DESTDIR="$T/dest" PREFIX=/usr/local install >"$T/make.log" 2>&1; then
	ok "make install DESTDIR=... exits 0"
else
	fail "make install DESTDIR=... exits 0" "$(tail -3 "$T/make.log")"
fi
L=$T/dest/usr/local/lib
for f in "$L/libcnic-runtime.a" "$L/pkgconfig/cnic-runtime.pc" "$T/dest/usr/local/include/cnic-runtime.h" \
	"$T/dest/usr/local/bin/cnitool"; do
	if [ -f "$f" ]; then ok "installed ${f#"$T/dest"}"; else fail "installed ${f#"$T/dest"}" "missing"; fi
done
check_eq "the pkg-config file names the installed paths" \
	"$(for v in libdir includedir; do PKG_CONFIG_PATH=$L/pkgconfig pkg-config --variable=$v cnic-runtime 2>&1; done)" \
	"$(printf '/usr/local/lib\n/usr/local/include')"
flags=$(PKG_CONFIG_PATH=$L/pkgconfig pkg-config --define-variable=libdir="$L" \
	--define-variable=includedir="$T/dest/usr/local/include" --cflags --libs --static cnic-runtime 2>&1)
# an AddressSanitizer build (make SANITIZE=1) installs an instrumented archive
nm "$L/libcnic-runtime.a" 2>/dev/null | grep -q __asan && flags="-fsanitize=address,undefined $flags"
# shellcheck disable=SC2086
if ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -o "$T/cnic-run" contrib/runtime/cnic-run.c $flags >"$T/cc.log" 2>&1; then
	ok "contrib/runtime/cnic-run.c builds against the installed library alone"
	run_example "the installed library's cnic-run" "$T/cnic-run"
else
	fail "contrib/runtime/cnic-run.c builds against the installed library alone" "$flags: $(head -3 "$T/cc.log")"
fi
exit $failed
