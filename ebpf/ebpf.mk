# The eBPF companion, included by the top-level Makefile:
#   make bpf        build/haywire-bpf, statically linked
#
# vmlinux.h is generated at build time (tools/vmlinux-h.sh: the cached
# Debian 6.1 kernel's BTF, or this machine's); the programs are compiled
# with clang -target bpf and embedded through a bpftool skeleton. The
# loader links the module's shared publisher and string table
# and request ring protocol (kmod/publish.c, kmod/strtab.c,
# kmod/ringproto.c) compiled for user space.

CLANG   ?= clang
BPFTOOL ?= bpftool
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
EBPF_OUT := $(BUILD)/ebpf

EBPF_SRCS := ebpf/loader.c ebpf/beacon.c ebpf/refresh.c ebpf/ring.c \
	ebpf/events.c ebpf/guest.c kmod/publish.c kmod/strtab.c \
	kmod/ringproto.c
EBPF_OBJS := $(EBPF_SRCS:%.c=$(EBPF_OUT)/%.o)
EBPF_CFLAGS := $(filter-out -Ihost $(JSON_CFLAGS) $(MONITOR_CFLAGS),$(HW_CFLAGS)) \
	-Ikmod -Iebpf -I$(EBPF_OUT)
# Debian's static libbpf, libelf (with its zstd) and zlib
EBPF_LIBS := -lbpf -lelf -lz -lzstd -lpthread

.PHONY: bpf
bpf: $(BUILD)/haywire-bpf

$(EBPF_OUT)/vmlinux.h: tools/vmlinux-h.sh
	@mkdir -p $(dir $@)
	tools/vmlinux-h.sh $@

$(EBPF_OUT)/haywire.bpf.o: ebpf/haywire.bpf.c ebpf/hwb.h $(EBPF_OUT)/vmlinux.h \
		include/haywire_protocol.h
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(BPF_ARCH) \
		-I$(EBPF_OUT) -Iebpf -Iinclude -c -o $@ $<

$(EBPF_OUT)/hwb.skel.h: $(EBPF_OUT)/haywire.bpf.o ebpf/ebpf.mk
	$(BPFTOOL) gen skeleton $< name hwb_bpf > $@.tmp && mv $@.tmp $@

$(EBPF_OBJS): $(EBPF_OUT)/hwb.skel.h
$(EBPF_OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EBPF_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/haywire-bpf: $(EBPF_OBJS)
	$(CC) -static $(CFLAGS) $(LDFLAGS) -o $@ $(EBPF_OBJS) $(EBPF_LIBS)

-include $(EBPF_OBJS:.o=.d)
