# SPDX-License-Identifier: Apache-2.0
# cnic: every plugin is its own executable in build/bin, linked against four static libraries:
# build/libcni.a (pkg/cni, the protocol), build/libnetutil.a (pkg/netutil, the kernel),
# build/libnft.a (pkg/nft, the nftables engine and the rule layouts several plugins share) and
# build/libwire.a (pkg/wire, the DNS and DHCP codecs: libc alone); dnsname and dhcp also link
# build/libdaemon.a (pkg/daemon, their loop and start-up: libc alone). ARCHITECTURE.md has the
# layers.

# Parallel by default: one job per CPU, unless -j was given (a -j on the command line wins) or
# this is a sub-make under a jobserver. `make clean all` stays serial so clean runs first.
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j% --jobserver%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif
endif
ifneq ($(filter clean,$(MAKECMDGOALS)),)
.NOTPARALLEL:
endif

CC ?= cc
# Install paths (`make install`; README "Install"): the plugins and the two daemons in
# CNI_BIN_DIR (the CNI convention and containerd's default; Debian's package uses the flat
# /usr/lib/cni), cnitool in BINDIR, the runtime library in LIBDIR/INCLUDEDIR, the man pages
# (MANPAGES, built under $(BUILD)/man/, by their suffix) in MANDIR/man<N>, the systemd units
# (contrib/systemd/, ExecStart= pointing at CNI_BIN_DIR) in SYSTEMDUNITDIR.
PREFIX ?= /usr/local
CNI_BIN_DIR ?= /opt/cni/bin
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# `install -s`; the Debian package leaves stripping to dh_strip (debug symbols package).
INSTALL_STRIP ?= -s
FUZZ_SECONDS ?= 60
DESTDIR ?=
BUILD ?= build
PKG_CONFIG ?= pkg-config
DEPS := libnl-route-3.0 libmnl libnftnl jansson libmd

WARN := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wno-format-nonliteral -Werror -Wno-missing-field-initializers
# Messages are cut to fixed buffers on purpose; only gcc warns about it (clang lacks the option).
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c clang),0)
WARN += -Wno-format-truncation
endif
CFLAGS ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -Ipkg -I$(BUILD)/gen
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null) \
	-fno-common -fstack-protector-strong -MMD -MP $(SIZE_CFLAGS)
LDLIBS += $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null)
# Size (the bench's "all plugins <= 2 MB installed"): every function in its own section so the
# linker drops what a plugin never calls (2.30 -> 2.02 MB stripped), and no .eh_frame: nothing
# unwinds through C frames here (no C++, no pthread_cancel); with -g, gdb and perf read
# .debug_frame from the unstripped build (-> 1.81 MB).
SIZE_CFLAGS := -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables
LDFLAGS += -Wl,--gc-sections

ifeq ($(SANITIZE),1)
BUILD := build/sanitize
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SIZE_CFLAGS := -ffunction-sections -fdata-sections
LDFLAGS += -fsanitize=address,undefined
endif

CNI_SRC := $(wildcard pkg/cni/*.c)
NU_SRC := $(wildcard pkg/netutil/*.c pkg/netutil/kind/*.c)
NFT_SRC := $(wildcard pkg/nft/*.c)
WIRE_SRC := $(wildcard pkg/wire/*.c)
PLUGIN_DIRS := $(sort $(dir $(wildcard plugins/*/*/*.c)))
PLUGINS := $(notdir $(patsubst %/,%,$(PLUGIN_DIRS)))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# Tests of pkg/netutil against the real kernel (root, a netns of their own): tests/kernel/.
KERNEL_SRC := $(wildcard tests/kernel/test_*.c)
KERNEL_BINS := $(patsubst tests/kernel/%.c,$(BUILD)/tests/kernel/%,$(KERNEL_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIBCNI := $(BUILD)/libcni.a
LIBNU := $(BUILD)/libnetutil.a
LIBNFT := $(BUILD)/libnft.a
LIBWIRE := $(BUILD)/libwire.a
# The IPAM plugins without their main(): linked into every plugin for in-process delegation.
IPAM_SRC := $(filter-out %/main.c,$(wildcard plugins/ipam/*/*.c))
LIBIPAM := $(BUILD)/libipam.a
BINS := $(addprefix $(BUILD)/bin/,$(PLUGINS))
# The runtime side (pkg/runtime, issue #18): libcnic-runtime.a and the tools on it (cmd/<tool>/).
RT_SRC := $(wildcard pkg/runtime/*.c)
LIBRT := $(BUILD)/libcnic-runtime.a
TOOL_DIRS := $(sort $(dir $(wildcard cmd/*/*.c)))
TOOLS := $(addprefix $(BUILD)/bin/,$(notdir $(patsubst %/,%,$(TOOL_DIRS))))
# The example runtime of contrib/runtime/ on the installed library's pieces.
EXAMPLES := $(BUILD)/contrib/cnic-run

.SECONDARY:
.PHONY: all deps check layers unit kernel netns e2e vm demo bench size install uninstall programs deb deb-test clean fuzz fault format man
all: $(BINS) $(TOOLS) $(UNIT_BINS) $(KERNEL_BINS) $(EXAMPLES)

# The man pages: man/<name>.<section>.scd, written in scdoc, built to $(BUILD)/man/<name>.<section>
# (MANPAGES: what `make install` puts in $(MANDIR)/man<section>). Without scdoc, `all` says once
# that they were skipped and succeeds; `make man` needs it.
SCDOC ?= scdoc
MAN_SRC := $(wildcard man/*.scd)
MANPAGES := $(patsubst man/%.scd,$(BUILD)/man/%,$(MAN_SRC))
ifneq ($(shell command -v $(SCDOC) 2>/dev/null),)
all: $(MANPAGES)
else
all: man-skipped
.PHONY: man-skipped
man-skipped:
	@echo "  MAN     skipped: $(SCDOC) is not installed (apt-get install scdoc)"
endif
man: $(MANPAGES)
$(BUILD)/man/%: man/%.scd
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  SCDOC   $@")
	$(Q)$(SCDOC) <$< >$@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

# The suite id: a digest of every source, written only when it changes. Plugins carry it in an ELF
# note; a plugin runs an IPAM plugin in-process only when CNI_PATH's binary carries the same id.
SUITE_SRC := $(sort $(wildcard pkg/*/*.[ch] pkg/*/*/*.[ch] plugins/*/*/*.[ch]))
$(BUILD)/gen/suite_id.h: $(SUITE_SRC) Makefile
	@mkdir -p $(dir $@)
	@id=$$(cat $(SUITE_SRC) | sha256sum | cut -c1-16); \
	printf '#define CNIC_SUITE_ID "%s"\n' "$$id" >$@.tmp; \
	cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/obj/pkg/cni/skel.o $(BUILD)/obj/pkg/cni/delegate.o: $(BUILD)/gen/suite_id.h

V ?= 0
Q := $(if $(filter 1,$(V)),,@)

# Objects are rebuilt when the compiler or a flag changes: the stamp, written while the Makefile
# is read (a rule would be skipped under .SECONDARY), is rewritten only then.
FLAGS_STAMP := $(BUILD)/gen/flags
$(shell mkdir -p $(BUILD)/gen && printf '%s\n' '$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS)' >$(FLAGS_STAMP).tmp && \
	{ cmp -s $(FLAGS_STAMP).tmp $(FLAGS_STAMP) || mv $(FLAGS_STAMP).tmp $(FLAGS_STAMP); }; rm -f $(FLAGS_STAMP).tmp)
# The release (VERSION, set when packaging), the commit built and the build date, for every
# binary's --version (pkg/cni/about.c): build/gen/version.h, rewritten only when one of them
# changes, so only about.o is rebuilt (and the binaries relinked). The commit is git describe of
# HEAD's hash ("-dirty" with local changes) when this directory is the top of a git work tree;
# else the first word of .version-info, which `git archive` fills in (export-subst, see
# .gitattributes); else "unknown". The date is reproducible, never the clock: SOURCE_DATE_EPOCH
# when set (dpkg-buildpackage sets it from debian/changelog), else the commit's date, else
# "unknown". Packagers may set GIT_COMMIT and BUILD_DATE themselves.
VERSION ?= 0.1.0
GIT := git -c safe.directory='$(abspath $(CURDIR))'
IN_GIT := $(filter $(abspath $(CURDIR)),$(abspath $(shell $(GIT) rev-parse --show-toplevel 2>/dev/null)))
ARCHIVE_INFO := $(shell grep -v '[$$]Format' .version-info 2>/dev/null | cut -c1-12,41-)
GIT_COMMIT ?= $(or $(if $(IN_GIT),$(shell $(GIT) describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null)),$(firstword $(ARCHIVE_INFO)),unknown)
COMMIT_EPOCH := $(or $(if $(IN_GIT),$(shell $(GIT) log -1 --format=%ct 2>/dev/null)),$(word 2,$(ARCHIVE_INFO)))
BUILD_DATE ?= $(or $(shell e='$(or $(SOURCE_DATE_EPOCH),$(COMMIT_EPOCH))'; [ -n "$$e" ] && date -u -d "@$$e" +%F 2>/dev/null),unknown)
# A git tree that git refuses to read (`sudo make install` in a user's checkout: "dubious
# ownership") keeps the version.h its owner's build wrote rather than relink everything "unknown".
$(shell [ -e .git ] && [ '$(GIT_COMMIT)' = unknown ] && [ -e $(BUILD)/gen/version.h ] || { \
	printf '#define CNIC_VERSION "%s"\n#define CNIC_COMMIT "%s"\n#define CNIC_BUILD_DATE "%s"\n' '$(VERSION)' '$(GIT_COMMIT)' '$(BUILD_DATE)' >$(BUILD)/gen/version.h.tmp && \
	{ cmp -s $(BUILD)/gen/version.h.tmp $(BUILD)/gen/version.h || mv $(BUILD)/gen/version.h.tmp $(BUILD)/gen/version.h; }; rm -f $(BUILD)/gen/version.h.tmp; })
$(BUILD)/obj/pkg/cni/about.o: $(BUILD)/gen/version.h
$(call obj,$(CNI_SRC) $(NU_SRC) $(NFT_SRC) $(WIRE_SRC) $(RT_SRC) $(wildcard plugins/*/*/*.c cmd/*/*.c contrib/*/*.c) $(UNIT_SRC) $(KERNEL_SRC)): $(FLAGS_STAMP)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBCNI): $(call obj,$(CNI_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBNU): $(call obj,$(NU_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBNFT): $(call obj,$(NFT_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBWIRE): $(call obj,$(WIRE_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# libcnic-runtime.a carries the three libcni.a objects it calls (SHA-512, the interface-name
# rule, version names: none calls further into libcni), so that the installed archive stands
# alone beside jansson and libmd.
RT_CNI_OBJ := $(call obj,pkg/cni/hash.c pkg/cni/ifname.c pkg/cni/version.c)
$(LIBRT): $(call obj,$(RT_SRC)) $(RT_CNI_OBJ) Makefile
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $(filter %.o,$^)

# contrib/runtime/cnic-run: the example runtime, built as a user builds it against the installed
# library (<cnic-runtime.h>, libcnic-runtime.a, jansson and libmd: no other archive of the tree).
$(BUILD)/obj/contrib/runtime/cnic-run.o: CPPFLAGS += -Ipkg/runtime
$(BUILD)/contrib/cnic-run: $(BUILD)/obj/contrib/runtime/cnic-run.o $(LIBRT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson libmd 2>/dev/null)

# A tool: all .c files of cmd/<name>/ make build/bin/<name>, on libcnic-runtime (and the libcni.a
# helpers it uses: the SHA-512 and interface-name rule), jansson and libmd; no kernel library.
define tool_rule
$(BUILD)/bin/$(notdir $(patsubst %/,%,$(1))): $(call obj,$(wildcard $(1)*.c)) $(LIBRT) $(LIBCNI)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBRT) $(LIBCNI) $$(LDLIBS)
endef
$(foreach d,$(TOOL_DIRS),$(eval $(call tool_rule,$(d))))

$(LIBIPAM): $(call obj,$(IPAM_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# libiptc (iptables-legacy's filter table, pkg/nft/ipt_legacy.c) only where CNI-FORWARD is
# written: the others never pull that object in.
IPTC_LIBS := $(shell $(PKG_CONFIG) --libs libip4tc libip6tc 2>/dev/null)
LDLIBS_firewall := $(IPTC_LIBS)
LDLIBS_portmap := $(IPTC_LIBS)

# One rule per plugin: all .c files of plugins/<kind>/<name>/ make build/bin/<name>.
define plugin_rule
$(BUILD)/bin/$(notdir $(patsubst %/,%,$(1))): $(call obj,$(wildcard $(1)*.c)) $(LIBIPAM) $(LIBCNI) $(LIBNFT) $(LIBNU) $(LIBWIRE)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(LDFLAGS) -o $$@ $$(filter %.o,$$^) $(LIBIPAM) $(LIBNFT) $(LIBNU) $(LIBCNI) $(LIBWIRE) $$(LDLIBS) $$(LDLIBS_$(notdir $(patsubst %/,%,$(1))))
endef
$(foreach d,$(PLUGIN_DIRS),$(eval $(call plugin_rule,$(d))))

# Protocol tests (test_cni*) need no kernel library.
$(BUILD)/tests/test_cni%: $(BUILD)/obj/tests/unit/test_cni%.o $(LIBCNI)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBCNI) $(LDLIBS)

# The runtime library's tests: libcnic-runtime.a over libcni.a, no kernel library.
$(BUILD)/tests/test_runtime: $(BUILD)/obj/tests/unit/test_runtime.o $(LIBRT) $(LIBCNI)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBRT) $(LIBCNI) $(LDLIBS)

# host-local's allocator and store are tested directly: link its objects except main.o.
HL_OBJ := $(call obj,plugins/ipam/host-local/alloc.c plugins/ipam/host-local/store.c)
$(BUILD)/tests/test_hostlocal: $(BUILD)/obj/tests/unit/test_hostlocal.o $(HL_OBJ) $(LIBCNI)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBCNI) $(LDLIBS)

# The codecs' tests link libwire.a and libc, nothing else (test_dhcp_wire includes dhcp's proto.c).
WIRE_TESTS := $(BUILD)/tests/test_dns_wire $(BUILD)/tests/test_dhcp_wire
$(WIRE_TESTS): $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBWIRE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBWIRE)

# dnsname's cache of forwarded answers: its cache.c and the DNS codec.
$(BUILD)/tests/test_dnsname_cache: $(BUILD)/obj/tests/unit/test_dnsname_cache.o $(call obj,plugins/meta/dnsname/cache.c) $(LIBWIRE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBWIRE)

# dnsname's network files: its records.c alone.
$(BUILD)/tests/test_dnsname_records: $(BUILD)/obj/tests/unit/test_dnsname_records.o $(call obj,plugins/meta/dnsname/records.c)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# dnsname's log limiter: its ratelim.c alone (the clock is the test's).
$(BUILD)/tests/test_dnsname_ratelim: $(BUILD)/obj/tests/unit/test_dnsname_ratelim.o $(call obj,plugins/meta/dnsname/ratelim.c)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

# A plugin's own rule layout lives in its folder: the tests of it link that object (the generic
# rules below link every .o prerequisite).
$(BUILD)/tests/kernel/test_portmap_nft: $(call obj,plugins/meta/portmap/nft.c)
$(BUILD)/tests/kernel/test_firewall_nft: $(call obj,plugins/meta/firewall/nft.c)
$(BUILD)/tests/test_portmap_cond: $(call obj,plugins/meta/portmap/nft.c)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBCNI) $(LIBNFT) $(LIBNU)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBNFT) $(LIBNU) $(LIBCNI) $(LDLIBS) $(IPTC_LIBS)

$(BUILD)/tests/kernel/%: $(BUILD)/obj/tests/kernel/%.o $(LIBCNI) $(LIBNFT) $(LIBNU)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBNFT) $(LIBNU) $(LIBCNI) $(LDLIBS) $(IPTC_LIBS)

deps:
	@sh tests/deps.sh

# The layering of ARCHITECTURE.md: fails on a forbidden #include (tests/unit/test_layers.sh too).
layers:
	@python3 tests/layers.py

unit: all
	@BUILD=$(BUILD) sh tests/run.sh unit

kernel: all
	@BUILD=$(BUILD) sh tests/run.sh kernel

netns: all
	@BUILD=$(BUILD) sh tests/run.sh netns

# Real runtimes and clients driving build/bin (tests/e2e/): private containerd nodes over CRI v1,
# podman 4.3 (CNI backend), containerd 1.6 (ctr run --cni).
e2e: all
	@BUILD=$(BUILD) sh tests/run.sh e2e

# Every syscall of every plugin's ADD/DEL/CHECK (and of cnitool's own add/check/del/gc/status)
# failed in turn and SIGKILLed, every key of every plugin with every malformed value (tests/fault/;
# make check runs a sample). Long: ~1.5 h.
fault: all
	@BUILD=$(BUILD) FAULT_FULL=1 sh tests/run.sh fault

# Kernel features this host lacks (ipvlan, vlan, bridge VLAN filtering...), in a qemu VM.
vm: all
	@BUILD=$(BUILD) sh tests/run.sh vm

# The test command of the README and of CI: installs what it needs, builds, runs every level.
check: deps
	@python3 tests/layers.py
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh tests/run.sh all

# The demo installs only what it runs (tests/deps.sh demo) and builds only what it runs.
demo:
	@sh tests/deps.sh demo
	@$(MAKE) --no-print-directory $(BINS) $(TOOLS)
	@BUILD=$(BUILD) sh tests/demo.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) sh bench/run.sh

# Installed size (stripped) of every plugin: BENCH_AB's build (default HEAD, built in a throwaway
# worktree) against this tree's; fails when the new total is larger (bench/size.sh).
BENCH_AB_SIZE = $(or $(BENCH_AB),HEAD)
size: all
	@sh bench/abbuild.sh $(BENCH_AB_SIZE) $(BUILD)/size-old >/dev/null && \
		sh bench/size.sh $(BUILD)/size-old $(BUILD)/bin; rc=$$?; rm -rf $(BUILD)/size-old $(BUILD)/size-old.log; exit $$rc

# What `make install` installs, built: the plugins, the tools, the runtime library, the man pages
# (without scdoc, those already built: none on a fresh tree, as `all` skips them).
INSTALL_MAN = $(if $(shell command -v $(SCDOC) 2>/dev/null),$(MANPAGES),$(wildcard $(MANPAGES)))
programs: $(BINS) $(TOOLS) $(LIBRT) $(INSTALL_MAN)

# The runtime library for C runtimes: the archive, its header and pkg-config file (cnic-runtime,
# written here with the paths of this install). The units are written here too, from
# contrib/systemd/*.in, with this install's CNI_BIN_DIR. `make uninstall` removes exactly these
# files (the same lists), then the directories left empty: under DESTDIR all of them up to
# DESTDIR, without DESTDIR only CNI_BIN_DIR (and /opt/cni of /opt/cni/bin), never /usr/local/bin
# and the like.
UNIT_IN := $(sort $(wildcard contrib/systemd/*.in))
UNITS := $(sort $(patsubst %.in,%,$(notdir $(UNIT_IN))) $(notdir $(wildcard contrib/systemd/*.socket)))
MAN_SECTIONS = $(sort $(patsubst .%,%,$(suffix $(INSTALL_MAN))))
INSTALL_FILES = $(addprefix $(CNI_BIN_DIR)/,$(notdir $(BINS))) $(addprefix $(BINDIR)/,$(notdir $(TOOLS))) \
	$(addprefix $(SYSTEMDUNITDIR)/,$(UNITS)) $(LIBDIR)/$(notdir $(LIBRT)) $(LIBDIR)/pkgconfig/cnic-runtime.pc \
	$(INCLUDEDIR)/cnic-runtime.h $(foreach m,$(INSTALL_MAN),$(MANDIR)/man$(patsubst .%,%,$(suffix $(m)))/$(notdir $(m)))
INSTALL_DIRS = $(CNI_BIN_DIR) $(BINDIR) $(SYSTEMDUNITDIR) $(LIBDIR)/pkgconfig $(INCLUDEDIR) \
	$(addprefix $(MANDIR)/man,$(MAN_SECTIONS))
install: programs
	install -d $(addprefix $(DESTDIR),$(INSTALL_DIRS))
	install -m 0755 $(INSTALL_STRIP) $(BINS) $(DESTDIR)$(CNI_BIN_DIR)/
	install -m 0755 $(INSTALL_STRIP) $(TOOLS) $(DESTDIR)$(BINDIR)/
	for u in $(UNIT_IN); do \
		n=$${u##*/}; sed -e 's|@CNI_BIN_DIR@|$(CNI_BIN_DIR)|g' $$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$${n%.in} && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$${n%.in} || exit 1; \
	done
	install -m 0644 $(wildcard contrib/systemd/*.socket) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 $(LIBRT) $(DESTDIR)$(LIBDIR)/
	install -m 0644 pkg/runtime/cnic-runtime.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' pkg/runtime/cnic-runtime.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/cnic-runtime.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/cnic-runtime.pc
	for m in $(INSTALL_MAN); do \
		s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; \
	done

# Every page man/ can make, installed or not: an install made with scdoc is undone without it.
UNINSTALL_MAN = $(foreach m,$(MANPAGES),$(MANDIR)/man$(patsubst .%,%,$(suffix $(m)))/$(notdir $(m)))
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES) $(UNINSTALL_MAN))
ifneq ($(DESTDIR),)
	for d in $(INSTALL_DIRS) $(addprefix $(MANDIR)/man,$(sort $(patsubst .%,%,$(suffix $(MANPAGES))))); do \
		d=$(DESTDIR)$$d; \
		while [ "$$d" != "$(DESTDIR)" ] && [ "$$d" != "$(DESTDIR)/" ] && [ "$$d" != / ] && \
			[ -d "$$d" ] && rmdir "$$d" 2>/dev/null; do d=$${d%/*}; done; \
	done; true
else
	-rmdir $(CNI_BIN_DIR) 2>/dev/null; case "$(CNI_BIN_DIR)" in */cni/bin) rmdir $(dir $(CNI_BIN_DIR)) 2>/dev/null;; esac; true
endif

# The Debian package (debian/): dpkg-buildpackage -us -uc -b in a copy of this tree
# ($(BUILD)/deb/src/, so that debian/rules' clean never touches this tree's build/), then lintian.
# The .deb files, .changes and .buildinfo land in $(BUILD)/deb/.
DEB_SRC = $(BUILD)/deb/src/cnic-$(VERSION)
deb:
	@sh tests/deps.sh deb
	rm -rf $(BUILD)/deb && mkdir -p $(DEB_SRC)
	tar -cf - --exclude=./build --exclude=./.git --exclude='./debian/.debhelper' . | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL GIT_COMMIT=$(GIT_COMMIT) dpkg-buildpackage -us -uc -b -Jauto
	if command -v lintian >/dev/null; then lintian --fail-on error,warning --display-info $(BUILD)/deb/src/*.changes; fi
	mv $(BUILD)/deb/src/*.deb $(BUILD)/deb/src/*.changes $(BUILD)/deb/src/*.buildinfo $(BUILD)/deb/
	rm -rf $(BUILD)/deb/src

# tests/e2e/deb.sh: the package in a throwaway Debian 12 root (debootstrap): install, run,
# upgrade, replace containernetworking-plugins and back, purge. `make check` runs it too.
deb-test: deb
	@BUILD=$(BUILD) DEB_BUILD=0 bash tests/e2e/deb.sh

# Coverage-guided fuzzing of every parser of untrusted bytes (tests/fuzz/fuzz_*.c), with clang.
fuzz:
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh

# Every C file and header of the tree.
format:
	clang-format -i $(wildcard pkg/*/*.[ch] pkg/*/*/*.[ch] plugins/*/*/*.[ch] cmd/*/*.[ch] tests/*/*.[ch] bench/*.[ch])

clean:
	rm -rf build

# pkg/plugin, the glue between pkg/cni and pkg/netutil (the link-kind plugin skeleton, MAC
# precedence), is archived into libnetutil.a, which every plugin and kernel test links.
PLUGIN_SRC := $(wildcard pkg/plugin/*.c)
$(call obj,$(PLUGIN_SRC)): $(FLAGS_STAMP)
$(LIBNU): $(call obj,$(PLUGIN_SRC))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# pkg/daemon, what the two daemons share (loop, signals, socket activation, pid files), libc
# only: build/libdaemon.a, linked by the two binaries that carry a daemon and by its unit test.
DAEMON_SRC := $(wildcard pkg/daemon/*.c)
LIBDAEMON := $(BUILD)/libdaemon.a
$(call obj,$(DAEMON_SRC)): $(FLAGS_STAMP)
$(LIBDAEMON): $(call obj,$(DAEMON_SRC))
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^
$(BUILD)/bin/dnsname $(BUILD)/bin/dhcp: $(LIBDAEMON)
LDLIBS_dnsname += $(LIBDAEMON)
LDLIBS_dhcp += $(LIBDAEMON)
$(BUILD)/tests/test_daemon $(BUILD)/tests/test_daemon_flags: $(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBDAEMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBDAEMON)
