# make install / make uninstall / make deb (included by the Makefile).
#
# Paths follow the GNU conventions; DESTDIR is prepended to every one.
# debian/rules sets LIBDIR to the multiarch directory and SYSTEMDUNITDIR to
# Debian's.
PREFIX         ?= /usr/local
BINDIR         ?= $(PREFIX)/bin
SBINDIR        ?= $(PREFIX)/sbin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR    ?= $(DATADIR)/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# make uninstall reads what make install wrote here (empty: no manifest).
MANIFEST       ?= $(DATADIR)/haywire/manifest
BPF_MANIFEST   ?= $(DATADIR)/haywire/manifest-bpf

INSTALL_FILES := $(BUILD)/shared/haywire $(BUILD)/$(SOLIB) \
	$(BUILD)/libhaywire.a $(BUILD)/haywire.pc $(MAN_PAGES) \
	$(BUILD)/haywire-exporter.service

# Regenerated every time: they record PREFIX, LIBDIR and BINDIR.
.PHONY: FORCE
$(BUILD)/haywire.pc: FORCE

# The unit names /usr/bin/haywire: the command where this install puts it.
$(BUILD)/haywire-exporter.service: tools/systemd/haywire-exporter.service FORCE
	@mkdir -p $(dir $@)
	sed 's|/usr/bin/haywire |$(BINDIR)/haywire |' $< > $@

# One line per file: mode, source, destination (tools/install.sh).
install: $(INSTALL_FILES)
	@printf '%s\n' \
	 "755 $(BUILD)/shared/haywire $(BINDIR)/haywire" \
	 "644 $(BUILD)/$(SOLIB) $(LIBDIR)/$(SOLIB)" \
	 "link $(SOLIB) $(LIBDIR)/$(SONAME)" \
	 "link $(SONAME) $(LIBDIR)/libhaywire.so" \
	 "644 $(BUILD)/libhaywire.a $(LIBDIR)/libhaywire.a" \
	 "644 host/haywire.h $(INCLUDEDIR)/haywire/haywire.h" \
	 "644 include/haywire_protocol.h $(INCLUDEDIR)/haywire/haywire_protocol.h" \
	 "644 $(BUILD)/haywire.pc $(PKGCONFIGDIR)/haywire.pc" \
	 "644 $(BUILD)/man/haywire.1 $(MANDIR)/man1/haywire.1" \
	 "644 $(BUILD)/man/haywire.7 $(MANDIR)/man7/haywire.7" \
	 "644 tools/completion/haywire.bash $(BASHCOMPDIR)/haywire" \
	 "644 $(BUILD)/haywire-exporter.service $(SYSTEMDUNITDIR)/haywire-exporter.service" \
	| DESTDIR="$(DESTDIR)" MANIFEST="$(MANIFEST)" tools/install.sh install

uninstall:
	DESTDIR="$(DESTDIR)" MANIFEST="$(MANIFEST)" tools/install.sh uninstall

# The eBPF companion is a guest program: a separate install-bpf, so that a
# host's make install does not put a root daemon for guests on the host.
# Its own manifest, so that uninstall-bpf removes exactly what it added.
$(BUILD)/haywire-bpf.service: tools/systemd/haywire-bpf.service FORCE
	@mkdir -p $(dir $@)
	sed 's|/usr/sbin/haywire-bpf |$(SBINDIR)/haywire-bpf |' $< > $@

install-bpf: $(BUILD)/haywire-bpf $(BUILD)/man/haywire-bpf.8 \
		$(BUILD)/haywire-bpf.service
	@printf '%s\n' \
	 "755 $(BUILD)/haywire-bpf $(SBINDIR)/haywire-bpf" \
	 "644 $(BUILD)/man/haywire-bpf.8 $(MANDIR)/man8/haywire-bpf.8" \
	 "644 $(BUILD)/haywire-bpf.service $(SYSTEMDUNITDIR)/haywire-bpf.service" \
	| DESTDIR="$(DESTDIR)" MANIFEST="$(BPF_MANIFEST)" tools/install.sh install

uninstall-bpf:
	DESTDIR="$(DESTDIR)" MANIFEST="$(BPF_MANIFEST)" tools/install.sh uninstall

# Debian's tooling in a copy of the tree under build/deb, so that the
# packages (and dpkg-buildpackage's other output) land in build/deb/ and
# the working tree stays as it is.
deb:
	tools/install-deps.sh deb
	tools/make-deb.sh $(BUILD)/deb
