# Haywire top-level build.
#
#   make                  host library and command: build/haywire
#   make AGENTLESS=0      the same without the agentless walk (--source
#                         memfile|qmp): links only json-c and libc, needs
#                         no libbpf, libelf or decompressor -dev packages;
#                         and without top and exporter unless MONITOR=1
#   make MONITOR=0        without haywire top (ncurses) and haywire exporter
#                         (libmicrohttpd); MONITOR defaults to AGENTLESS
#   make LIBVIRT=0        without libvirt guests by domain name (--domain,
#                         exporter --libvirt); LIBVIRT defaults to 1 where
#                         libvirt's -dev package is installed and MONITOR=1
#   make module KDIR=...  guest kernel module against a kernel build tree
#                         (make clean removes what it leaves in the tree)
#   make bpf              the eBPF companion: build/haywire-bpf (static;
#                         ebpf/ebpf.mk; make builds it unless EBPF=0)
#   make san              host build with ASan + UBSan: build/san/haywire
#   make check            set up this machine and run every test (TAP)
#   make lint             checkpatch.pl --strict and sparse over the module,
#                         shellcheck over the scripts (tests/lint.sh; make
#                         check runs it)
#   make check-debug      build (once, cached) a lockdep/KASAN/... kernel from
#                         Debian's linux-source and run the module's VM suite
#                         on it (not part of check: the kernel build is long)
#   make demo             set up this machine, boot a demo guest, show its ps
#   make bench            print the performance figures
#   make shared man       build/libhaywire.so.1, build/shared/haywire (the
#                         command on the shared library), build/man/
#   make install          install the command, libhaywire (shared, static,
#                         header, pkg-config), man pages, bash completion and
#                         the systemd unit (PREFIX=/usr/local, DESTDIR)
#   make uninstall        remove exactly what make install installed (it
#                         keeps a manifest: $(PREFIX)/share/haywire/manifest)
#   make deb              the Debian packages (haywire, libhaywire1,
#                         libhaywire-dev, haywire-dkms) into build/deb/
#
# The module itself is built by Kbuild (see ./Kbuild):
#   make -C <KDIR> M=$(CURDIR) modules

BUILD    ?= build
CC       ?= cc
CFLAGS   ?= -O2 -g
WERROR   ?= -Werror
KDIR     ?= /lib/modules/$(shell uname -r)/build

AGENTLESS ?= 1
# top and exporter: ncurses and libmicrohttpd. The minimal build
# (AGENTLESS=0) leaves them out too, unless asked for.
MONITOR ?= $(AGENTLESS)
MONITOR_PKGS := ncursesw libmicrohttpd

JSON_CFLAGS := $(shell pkg-config --cflags json-c 2>/dev/null)
JSON_LIBS   := $(shell pkg-config --libs json-c 2>/dev/null)
# The agentless walk: BTF (libbpf, libelf) and kernel images (zlib, xz, lz4,
# zstd). tools/host-libs.sh prints the same list for scripts.
AGENTLESS_PKGS := libbpf libelf zlib liblzma liblz4 libzstd
ifeq ($(AGENTLESS),0)
NEEDED_PKGS    := json-c
AGENTLESS_LIBS :=
else
NEEDED_PKGS    := json-c $(AGENTLESS_PKGS)
AGENTLESS_LIBS := $(shell pkg-config --libs $(AGENTLESS_PKGS) 2>/dev/null)
endif

# What libhaywire itself links (haywire.pc's Requires.private); top and
# the exporter are the command's, not the library's.
LIB_PKGS := $(NEEDED_PKGS)

ifeq ($(MONITOR),0)
MONITOR_LIBS   :=
MONITOR_CFLAGS :=
else
NEEDED_PKGS    += $(MONITOR_PKGS)
MONITOR_LIBS   := $(shell pkg-config --libs $(MONITOR_PKGS) 2>/dev/null)
MONITOR_CFLAGS := $(shell pkg-config --cflags $(MONITOR_PKGS) 2>/dev/null)
endif

# libvirt domains by name: libvirt and libvirt-qemu (the monitor
# passthrough), linked into the command only, never into libhaywire.
LIBVIRT_PKGS := libvirt libvirt-qemu
ifeq ($(MONITOR),0)
LIBVIRT ?= 0
else
LIBVIRT ?= $(shell pkg-config --exists $(LIBVIRT_PKGS) 2>/dev/null && echo 1 || echo 0)
endif
ifeq ($(LIBVIRT),0)
LIBVIRT_LIBS   :=
LIBVIRT_CFLAGS :=
else
NEEDED_PKGS    += $(LIBVIRT_PKGS)
LIBVIRT_LIBS   := $(shell pkg-config --libs $(LIBVIRT_PKGS) 2>/dev/null)
LIBVIRT_CFLAGS := $(shell pkg-config --cflags $(LIBVIRT_PKGS) 2>/dev/null)
endif

# A machine without the build dependencies: one line saying what to run,
# before the compiler meets a missing header. Only goals that compile.
COMPILE_GOALS := $(filter-out deps check lint demo bench module clean uninstall deb,\
	$(or $(MAKECMDGOALS),all))
ifneq ($(COMPILE_GOALS),)
ifneq ($(shell pkg-config --exists $(NEEDED_PKGS) 2>/dev/null && echo ok),ok)
$(error missing build dependencies (pkg-config: $(NEEDED_PKGS)): run 'make deps' (tools/install-deps.sh))
endif
endif

# The library's one public header is host/haywire.h, which includes
# include/haywire_protocol.h: both are installed, in $(includedir)/haywire.
VERSION := $(shell sed -n 's/^\#define HAYWIRE_VERSION "\(.*\)"/\1/p' host/haywire.h)
SOVERSION := 1
SONAME := libhaywire.so.$(SOVERSION)
SOLIB := libhaywire.so.$(SOVERSION).0.0

HW_CFLAGS := -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla $(WERROR) -D_GNU_SOURCE \
	-Iinclude -Ihost $(JSON_CFLAGS) $(MONITOR_CFLAGS) $(LIBVIRT_CFLAGS) -MMD -MP

# host/lib/<subsystem>/*.c and the source front end (see README, Layout).
LIB_SRCS := $(wildcard host/lib/*.c host/lib/*/*.c)
ifeq ($(AGENTLESS),0)
LIB_SRCS := $(filter-out host/lib/agentless/%,$(LIB_SRCS)) \
	host/lib/agentless/off/stubs.c
endif
CLI_SRCS := $(wildcard host/cli/*.c)
ifeq ($(MONITOR),0)
CLI_SRCS := $(filter-out host/cli/top.c host/cli/exporter.c,$(CLI_SRCS)) \
	host/cli/off/monitor.c
endif
ifeq ($(LIBVIRT),0)
CLI_SRCS := $(filter-out host/cli/libvirt.c,$(CLI_SRCS)) host/cli/off/libvirt.c
endif
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)

.PHONY: all host shared man module san check check-debug lint demo bench deps install-bpf uninstall-bpf \
	clean install uninstall deb

# The eBPF companion (ebpf/ebpf.mk) needs clang, bpftool and the static
# libbpf; the minimal build (AGENTLESS=0) leaves it out unless EBPF=1.
EBPF ?= $(AGENTLESS)
ifeq ($(EBPF),0)
all: host
else
all: host bpf
endif
host: $(BUILD)/haywire

# Library objects are position independent: the same objects make the
# archive and the shared object. (The stamp rebuilds the objects of a tree
# built before they were.)
$(LIB_OBJS): $(BUILD)/pic.stamp
$(BUILD)/pic.stamp:
	@mkdir -p $(dir $@)
	@touch $@

$(BUILD)/host/lib/%.o: host/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HW_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HW_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The archive's members depend on AGENTLESS: rebuild it when that changes.
CONFIG_STAMP := $(BUILD)/agentless-$(AGENTLESS).stamp
$(CONFIG_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/agentless-*.stamp
	@touch $@
MONITOR_STAMP := $(BUILD)/monitor-$(MONITOR)-libvirt-$(LIBVIRT).stamp
$(MONITOR_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/monitor-*.stamp
	@touch $@

$(BUILD)/libhaywire.a: $(LIB_OBJS) $(CONFIG_STAMP)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(BUILD)/haywire: $(CLI_OBJS) $(BUILD)/libhaywire.a $(MONITOR_STAMP)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libhaywire.a \
		$(JSON_LIBS) $(AGENTLESS_LIBS) $(MONITOR_LIBS) $(LIBVIRT_LIBS)

# The shared library exports the API of haywire.h (haywire_*) and nothing
# else: the internal hwi_* functions stay local (host/lib/libhaywire.map).
$(BUILD)/$(SOLIB): $(LIB_OBJS) $(CONFIG_STAMP) host/lib/libhaywire.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
		-Wl,--version-script,host/lib/libhaywire.map -Wl,-z,defs \
		-o $@ $(LIB_OBJS) $(JSON_LIBS) $(AGENTLESS_LIBS)

$(BUILD)/libhaywire.so: $(BUILD)/$(SOLIB)
	ln -sf $(SOLIB) $(BUILD)/$(SONAME)
	ln -sf $(SOLIB) $@

# The installed command uses the shared library; build/haywire, which the
# tests run from the tree, links the archive.
$(BUILD)/shared/haywire: $(CLI_OBJS) $(BUILD)/libhaywire.so $(MONITOR_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) -L$(BUILD) -lhaywire \
		$(JSON_LIBS) $(MONITOR_LIBS) $(LIBVIRT_LIBS)

shared: $(BUILD)/shared/haywire

$(BUILD)/haywire.pc: tools/haywire.pc.in host/haywire.h Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@REQUIRES_PRIVATE@|$(LIB_PKGS)|' $< > $@

MAN_SRCS := docs/man/haywire.1.scd docs/man/haywire.7.scd \
	docs/man/haywire-bpf.8.scd
MAN_PAGES := $(MAN_SRCS:docs/man/%.scd=$(BUILD)/man/%)
$(BUILD)/man/%: docs/man/%.scd
	@mkdir -p $(dir $@)
	scdoc < $< > $@

man: $(MAN_PAGES)

include tools/install.mk
include ebpf/ebpf.mk

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
san:
	$(MAKE) BUILD=$(BUILD)/san CFLAGS="$(SAN_FLAGS)" LDFLAGS="$(SAN_FLAGS)" \
		AGENTLESS=$(AGENTLESS) MONITOR=$(MONITOR) LIBVIRT=$(LIBVIRT) host

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

deps:
	tools/install-deps.sh

check: deps
	tests/run.sh

lint: deps
	tests/lint.sh

# The kernel is built first, in the open (about 16 minutes the first time);
# HAYWIRE_VM_CONFIGS picks other machine configurations (default q35-512M,
# which also runs the ring, lifecycle and 5-level paging checks). The
# agentless tests skip this kernel (no BTF).
check-debug: deps
	tools/build-debug-kernel.sh
	HAYWIRE_KERNELS=debug-6.1 HAYWIRE_ARM64_KERNELS= \
		HAYWIRE_VM_CONFIGS="$${HAYWIRE_VM_CONFIGS:-q35-512M}" tests/vm/run.sh

demo: deps
	tools/demo.sh

bench: deps
	tools/bench.sh

# Not Kbuild's "clean": with M= it deletes every *.o, *.ko and *.a below the
# repository, the kernel packages in .cache/ included.
clean:
	rm -rf $(BUILD)
	rm -f kmod/*.o kmod/.*.cmd .*.cmd *.o *.ko *.mod *.mod.c *.mod.o \
		.module-common.o modules.order Module.symvers

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
