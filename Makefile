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
PREFIX ?= /opt/cni
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
SYSTEMDUNITDIR ?= /lib/systemd/system
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
.PHONY: all deps check layers unit kernel netns e2e vm demo bench size install clean fuzz fault format
all: $(BINS) $(TOOLS) $(UNIT_BINS) $(KERNEL_BINS) $(EXAMPLES)

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
# The release (VERSION, set when packaging) and the commit built (git describe of HEAD's hash,
# "-dirty" with local changes; "unknown" outside git), for `cnitool --version`: build/gen/version.h,
# rewritten only when one of them changes, so only cnitool's object is rebuilt.
VERSION ?= 0.1.0
GIT_COMMIT ?= $(or $(shell git describe --always --dirty --abbrev=12 --exclude='*' 2>/dev/null),unknown)
$(shell printf '#define CNIC_VERSION "%s"\n#define CNIC_COMMIT "%s"\n' '$(VERSION)' '$(GIT_COMMIT)' >$(BUILD)/gen/version.h.tmp && \
	{ cmp -s $(BUILD)/gen/version.h.tmp $(BUILD)/gen/version.h || mv $(BUILD)/gen/version.h.tmp $(BUILD)/gen/version.h; }; rm -f $(BUILD)/gen/version.h.tmp)
$(BUILD)/obj/cmd/cnitool/cnitool.o: $(BUILD)/gen/version.h
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

# Every syscall of every plugin's ADD/DEL/CHECK failed in turn and SIGKILLed, every key of every
# plugin with every malformed value (tests/fault/; make check runs a sample). Long: ~1.5 h.
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

demo: deps
	@$(MAKE) --no-print-directory all
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

# The runtime library for C runtimes: the archive, its header and pkg-config file (cnic-runtime,
# written here with the paths of this install).
install: $(BINS) $(TOOLS) $(LIBRT)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 0755 -s $(BINS) $(TOOLS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(wildcard contrib/systemd/*.service contrib/systemd/*.socket) $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 0644 $(LIBRT) $(DESTDIR)$(LIBDIR)/
	install -m 0644 pkg/runtime/cnic-runtime.h $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(VERSION)|' pkg/runtime/cnic-runtime.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/cnic-runtime.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/cnic-runtime.pc

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
$(BUILD)/tests/test_daemon: $(BUILD)/obj/tests/unit/test_daemon.o $(LIBDAEMON)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIBDAEMON)
