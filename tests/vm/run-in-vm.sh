#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# run-in-vm.sh COMMAND [ARG...]: run a command as root inside a throwaway qemu VM booted with
# Debian's stock kernel, for the tests that need kernel features the host lacks (ipvlan, 8021q,
# dummy, vrf, bridge VLAN filtering, ...). The command's stdout and stderr come back on our stdout
# (through the VM's second serial port) and its exit status is ours.
#
# The VM: the kernel package that linux-image-amd64 depends on (resolved, never pinned), fetched
# with `apt-get download` and unpacked with `dpkg-deb -x` into $CNIC_VM_CACHE (never installed),
# booted as an uncompressed vmlinux (PVH entry, about 3x faster than vmlinuz under emulation) with
# a busybox initramfs built here. Its /init loads the virtio and 9p modules kept in the
# initramfs, mounts the host's root read-only and the source tree ($TOP) read-write over
# virtio-9p, loads the test modules from the unpacked tree (indexed once with busybox depmod),
# puts tmpfs on /tmp, /run and /var, chroots into the host root and runs the command there, in
# the same working directory. KVM when it really runs guest code, TCG software emulation
# otherwise; one vCPU (tests/run.sh runs the VM beside the other levels on the second CPU; two
# vCPUs cost TCG 40 % more CPU for the same work), 1 GB. Prints "skip - vm: <why>" and exits 0
# when qemu or the kernel cannot be had. Nothing on the host is changed apart from the cache
# directory and, as root, the two packages it needs (qemu-system-x86 without recommends,
# busybox-static).
#
# Environment: CNIC_VM_CACHE (default $TOP/build/vm), CNIC_VM_TIMEOUT (seconds, default 1500),
# CNIC_VM_ACCEL (kvm|tcg: skip the probe), CNIC_VM_MEM (MiB, default 1024), CNIC_VM_SMP (vCPUs,
# default 1; above 1, TCG runs one host thread per vCPU), CNIC_VM_MODULES (modules loaded at
# boot), CNIC_VM_KEEP=1 (keep the run directory with the console log).
# Exit status: the command's; 124 when the VM timed out; 125 when it died without a status.
set -u
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CACHE=${CNIC_VM_CACHE:-$TOP/build/vm}
TIMEOUT=${CNIC_VM_TIMEOUT:-1500}
MEM=${CNIC_VM_MEM:-1024}
SMP=${CNIC_VM_SMP:-1}
MODULES=${CNIC_VM_MODULES:-"veth bridge 8021q ipvlan macvlan dummy vrf tun nf_tables nft_chain_nat nft_masq nft_nat nft_ct nft_compat nf_conntrack br_netfilter sch_tbf sch_htb ifb"}
# Needed before the shares can be mounted: they go into the initramfs.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p virtio_rng"

say() { echo "vm: $*" >&2; }
vm_skip() {
	echo "skip - vm: $*"
	exit 0
}

[ $# -gt 0 ] || {
	echo "usage: $0 COMMAND [ARG...]" >&2
	exit 2
}
case "$TOP$PWD$CACHE" in *[[:space:]]*) vm_skip "paths with whitespace are not supported" ;; esac

# ---- host packages --------------------------------------------------------------------------
ensure_host_tools() {
	local missing=""

	command -v qemu-system-x86_64 >/dev/null || missing="$missing qemu-system-x86"
	dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing busybox-static"
	command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null ||
		vm_skip "not a Debian host (no apt-get/dpkg-deb)"
	[ -z "$missing" ] && return 0
	[ "$(id -u)" = 0 ] || vm_skip "missing packages:$missing (install them as root)"
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then
		apt-get update -qq >/dev/null 2>&1
		apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
			vm_skip "cannot install$missing"
	fi
}

# ---- the kernel -----------------------------------------------------------------------------
# KDIR: the unpacked package; KVER: its module directory name; VMLINUX: the image to boot.
# The real package is what linux-image-amd64 depends on today: old ones leave the mirror.
kernel_pkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

# extract-vmlinux: find the xz (or gzip, zstd) stream inside the bzImage and decompress it.
extract_vmlinux() { # vmlinuz out
	local magic off tool

	for magic in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
		tool=${magic%%:*}
		magic=${magic#*:}
		for off in $(LC_ALL=C grep -obUaP "$magic" "$1" 2>/dev/null | cut -d: -f1); do
			tail -c +$((off + 1)) "$1" | $tool -dc 2>/dev/null >"$2.tmp"
			if [ "$(head -c 4 "$2.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				mv "$2.tmp" "$2"
				return 0
			fi
		done
	done
	rm -f "$2.tmp"
	return 1
}

ensure_kernel() {
	local pkg tmp d

	pkg=$(kernel_pkg)
	if [ -z "$pkg" ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(kernel_pkg)
	fi
	if [ -z "$pkg" ]; then
		# No package index: an already unpacked kernel will do.
		d=$(ls -d "$CACHE"/kernel/linux-image-*/.done 2>/dev/null | tail -1)
		[ -n "$d" ] || vm_skip "cannot resolve linux-image-amd64 (no apt package index)"
		pkg=$(basename "$(dirname "$d")")
	fi
	KDIR=$CACHE/kernel/$pkg
	if [ ! -e "$KDIR/.done" ]; then
		say "fetching $pkg"
		mkdir -p "$CACHE/kernel"
		tmp=$(mktemp -d "$CACHE/kernel/.dl.XXXXXX")
		# As root apt warns that _apt cannot write here; the download is the same.
		if ! (cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
			apt-get update -qq >/dev/null 2>&1
			(cd "$tmp" && apt-get download -qq "$pkg" >/dev/null 2>&1) || {
				rm -rf "$tmp"
				vm_skip "cannot download $pkg"
			}
		fi
		rm -rf "$KDIR"
		mkdir -p "$KDIR"
		dpkg-deb -x "$tmp"/*.deb "$KDIR" || {
			rm -rf "$tmp" "$KDIR"
			vm_skip "cannot unpack $pkg"
		}
		rm -rf "$tmp"
		KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
		# The package ships no module index (the postinst makes it): build it.
		/bin/busybox depmod -b "$KDIR" "$KVER" || vm_skip "depmod failed for $KVER"
		extract_vmlinux "$KDIR/boot/vmlinuz-$KVER" "$KDIR/vmlinux" ||
			say "cannot extract vmlinux, booting the compressed image"
		touch "$KDIR/.done"
		# Older kernels are of no further use.
		for d in "$CACHE"/kernel/linux-image-*; do
			[ "$d" = "$KDIR" ] || rm -rf "$d"
		done
	fi
	KVER=$(basename "$(ls -d "$KDIR"/lib/modules/*/ | head -1)")
	VMLINUX=$KDIR/vmlinux
	[ -e "$VMLINUX" ] || VMLINUX=$KDIR/boot/vmlinuz-$KVER
	[ -e "$VMLINUX" ] || vm_skip "no kernel image in $KDIR"
}

# ---- the initramfs --------------------------------------------------------------------------
# The /init of the VM (busybox sh). Kernel command-line words cnic_*=... arrive as variables.
init_script() {
	cat <<'EOF'
#!/bin/busybox sh
export PATH=/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
die() {
	echo "vm-init: $*" >$out
	echo "cnic-vm-status: 125" >$out
	reboot -f
}
modprobe -a virtio_pci 9pnet_virtio 9p || die "cannot load the 9p modules"
modprobe virtio_rng 2>/dev/null
R=/mnt/root
mkdir -p $R
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro hostroot $R ||
	die "cannot mount the host root"
# Every module of the unpacked package from here on, for the list and for the kernel's own
# request_module() (its helper runs in this root, not in the chroot).
mount --bind "$R$cnic_kdir/lib/modules" /lib/modules
echo /sbin/modprobe >/proc/sys/kernel/modprobe
for m in $cnic_modules; do modprobe $m 2>/dev/null; done
for d in proc sys dev; do mount --rbind /$d $R/$d; done
mkdir -p $R/dev/net $R/dev/pts $R/dev/shm
[ -e $R/dev/net/tun ] || mknod $R/dev/net/tun c 10 200
# No udev: the links bash's process substitution and tools reading /dev/stdin expect.
[ -e $R/dev/fd ] || ln -s /proc/self/fd $R/dev/fd
for i in 0:stdin 1:stdout 2:stderr; do [ -e $R/dev/${i#*:} ] || ln -s /proc/self/fd/${i%%:*} $R/dev/${i#*:}; done
mount -t devpts -o newinstance,ptmxmode=0666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
for d in tmp run var; do mount -t tmpfs -o mode=0755 tmpfs $R/$d; done
chmod 1777 $R/tmp
mkdir -p $R/var/tmp $R/var/lib $R/var/cache $R/var/log $R/run/lock
chmod 1777 $R/var/tmp
# The tree last: a checkout under /tmp, /run or /var must not be hidden by the tmpfs above.
mkdir -p "$R$cnic_top" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap top "$R$cnic_top" ||
	die "cannot mount $cnic_top"
ln -s /run $R/var/run
ln -s /run/lock $R/var/lock
ip link set lo up
hostname cnic-vm
chroot $R /bin/bash "$cnic_script" >$out 2>&1 </dev/null
echo "cnic-vm-status: $?" >$out
sync
umount "$R$cnic_top" 2>/dev/null
reboot -f
EOF
}

ensure_initramfs() {
	local stage m f deps sum

	sum=$(init_script | cksum | cut -d' ' -f1)
	INITRD=$CACHE/initramfs-$KVER-$sum.cpio.gz
	[ -s "$INITRD" ] && return 0
	stage=$(mktemp -d "$CACHE/.initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,sbin,proc,sys,dev,mnt,lib/modules/"$KVER"}
	cp /bin/busybox "$stage/bin/busybox"
	for f in $(/bin/busybox --list); do
		[ "$f" = busybox ] || ln -s busybox "$stage/bin/$f"
	done
	for f in modprobe insmod rmmod depmod reboot poweroff; do ln -s ../bin/busybox "$stage/sbin/$f"; done
	# The boot modules and their dependencies, with their own small index.
	for m in $BOOT_MODULES; do
		f=$(find "$KDIR/lib/modules/$KVER/kernel" -name "$m.ko*" | head -1)
		[ -n "$f" ] || continue
		deps=$(awk -v k="${f#"$KDIR/lib/modules/$KVER/"}:" '$1 == k { $1 = ""; print }' \
			"$KDIR/lib/modules/$KVER/modules.dep")
		for d in ${f#"$KDIR/lib/modules/$KVER/"} $deps; do
			mkdir -p "$stage/lib/modules/$KVER/$(dirname "$d")"
			cp "$KDIR/lib/modules/$KVER/$d" "$stage/lib/modules/$KVER/$d"
		done
	done
	/bin/busybox depmod -b "$stage" "$KVER"
	init_script >"$stage/init"
	chmod 755 "$stage/init"
	(cd "$stage" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$INITRD.tmp" &&
		mv "$INITRD.tmp" "$INITRD"
	rm -rf "$stage"
	rm -f $(ls "$CACHE"/initramfs-*.cpio.gz | grep -v "^$INITRD\$")
	[ -s "$INITRD" ] || vm_skip "cannot build the initramfs"
}

# ---- running it -----------------------------------------------------------------------------
# boot ACCEL SCRIPT OUTFILE TIMEOUT: run qemu to the end; 124 on timeout. Streams OUTFILE's lines
# (without the status line) to our stdout while the VM runs.
boot() {
	local accel=$1 script=$2 out=$3 limit=$4 qpid tpid rc cpu=qemu64 smp=${5:-$SMP}

	[ "$accel" = kvm ] && cpu=host
	[ "$accel" = tcg ] && [ "$smp" -gt 1 ] && accel=tcg,thread=multi
	: >"$out"
	timeout -k 5 "$limit" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp "$smp" -m "$MEM" \
		-M pc -nodefaults -nographic -monitor none -no-reboot \
		-kernel "$VMLINUX" -initrd "$INITRD" \
		-append "console=ttyS0 quiet loglevel=4 panic=-1 rdinit=/init cnic_top=$TOP cnic_kdir=$KDIR cnic_script=$script cnic_modules=\"$MODULES\"" \
		-serial "file:$out.console" -serial "file:$out" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$TOP,mount_tag=top,security_model=none,multidevs=remap" \
		-device virtio-rng-pci -pidfile "$out.pid" </dev/null >"$out.qemu" 2>&1 &
	qpid=$!
	tail -n +1 -F --pid=$qpid "$out" 2>/dev/null | tr -d '\r' | grep --line-buffered -v '^cnic-vm-status: ' &
	tpid=$!
	wait $qpid
	rc=$?
	wait $tpid 2>/dev/null
	return $rc
}

# KVM only counts when it runs guest code: on some hosts /dev/kvm exists without hardware
# virtualization behind it, and qemu then stops at the first instruction KVM cannot run ("KVM
# internal error ... emulation failure", after 30 s on the development machine) and waits forever.
# The probe boots once and gives up after 15 s (TCG boots and runs a command in about 6 s, so a
# slower KVM is no gain); the verdict is cached.
pick_accel() {
	local probe bpid i

	if [ -n "${CNIC_VM_ACCEL:-}" ]; then
		ACCEL=$CNIC_VM_ACCEL
		return
	fi
	if [ -s "$CACHE/accel" ]; then
		ACCEL=$(cat "$CACHE/accel")
		return
	fi
	ACCEL=tcg
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		probe=$(mktemp -d "$CACHE/.probe.XXXXXX")
		printf '#!/bin/sh\nexit 42\n' >"$probe/cmd.sh"
		boot kvm "$probe/cmd.sh" "$probe/out" 60 1 >/dev/null &
		bpid=$!
		for i in $(seq 150); do
			grep -q '^cnic-vm-status: ' "$probe/out" 2>/dev/null && break
			grep -qE 'KVM internal error|failed to initialize|Could not access KVM' \
				"$probe/out.qemu" 2>/dev/null && break
			kill -0 $bpid 2>/dev/null || break
			sleep 0.1
		done
		[ -s "$probe/out.pid" ] && kill "$(cat "$probe/out.pid")" 2>/dev/null
		wait $bpid
		grep -q '^cnic-vm-status: 42' "$probe/out" 2>/dev/null && ACCEL=kvm
		[ $ACCEL = tcg ] && say "KVM does not run guest code here, using TCG emulation"
		rm -rf "$probe"
	fi
	echo "$ACCEL" >"$CACHE/accel"
}

ensure_host_tools
mkdir -p "$CACHE" || vm_skip "cannot create $CACHE"
ensure_kernel
ensure_initramfs
pick_accel

run=$(mktemp -d "$CACHE/run.XXXXXX")
{
	echo "#!/bin/bash"
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root'
	for v in BUILD TOP REF CI CRASH_RUNS; do
		[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	echo 'export CNIC_IN_VM=1'
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$run/cmd.sh"
start=$(date +%s%N)
boot "$ACCEL" "$run/cmd.sh" "$run/out" "$TIMEOUT"
qrc=$?
ms=$((($(date +%s%N) - start) / 1000000))
status=$(tr -d '\r' <"$run/out" | sed -n 's/^cnic-vm-status: \([0-9]*\)$/\1/p' | tail -1)
if [ -z "$status" ]; then
	if [ "$qrc" = 124 ]; then
		say "timed out after ${TIMEOUT}s ($ACCEL); console:"
		status=124
	else
		say "the VM ended without an exit status (qemu status $qrc, $ACCEL); console:"
		status=125
	fi
	tail -20 "$run/out.console" "$run/out.qemu" 2>/dev/null | sed 's/^/vm:   /' >&2
fi
say "$KVER, $ACCEL, $SMP vCPU, $((ms / 1000)).$((ms % 1000 / 100))s, status $status"
[ "${CNIC_VM_KEEP:-0}" = 1 ] && say "kept $run" || rm -rf "$run"
exit "$status"
