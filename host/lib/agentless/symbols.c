// SPDX-License-Identifier: MIT
/*
 * The guest kernel's symbols: a System.map, or a copy of the guest's
 * /proc/kallsyms (same format, "ADDRESS TYPE NAME [MODULE]"; read it as
 * root, or every address is 0), plain or gzip-compressed. Module symbols
 * are left out. Addresses are kept as the file has them: callers use them
 * relative to _text, so a kallsyms copy from any boot of the same kernel
 * works whatever KASLR did then and does now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "agentless.h"

#define SYMBOLS_MAX	(8 * 1000 * 1000)
#define LINE_MAX_LEN	1024

static const char *sym_name(const struct haywire_symbols *s,
			    const struct hwi_sym *sym)
{
	return s->names + sym->name_off;
}

/* qsort_r, not a global context: the library is thread-safe. */
static int by_name(const void *a, const void *b, void *syms)
{
	return strcmp(sym_name(syms, a), sym_name(syms, b));
}

static int by_addr(const void *a, const void *b)
{
	const struct hwi_sym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 4096;
	void *q;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return false;
	*p = q;
	*cap = n;
	return true;
}

/* One line; false if it is not "HEX TYPE NAME" (the caller says so). */
static bool parse_line(char *line, uint64_t *addr, char *type, char **name,
		       bool *module)
{
	char *p = line, *end;

	errno = 0;
	*addr = strtoull(p, &end, 16);
	if (errno || end == p || (*end != ' ' && *end != '\t'))
		return false;
	p = end + strspn(end, " \t");
	if (!*p || (p[1] != ' ' && p[1] != '\t'))
		return false;
	*type = *p;
	p += 1 + strspn(p + 1, " \t");
	*name = p;
	p += strcspn(p, " \t\r\n");
	*module = false;
	if (*p) {
		char *rest = p + strspn(p, " \t\r\n");

		*module = *rest == '[';
		*p = '\0';
	}
	return **name != '\0';
}

struct haywire_symbols *haywire_symbols_open(const char *path,
					     struct haywire_error *err)
{
	struct haywire_symbols *s;
	size_t cap = 0, names_cap = 0, names_len = 0;
	unsigned long lineno = 0;
	char line[LINE_MAX_LEN];
	bool have_text = false, all_zero = true;
	gzFile gz;

	if (!path || !*path) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "no kernel symbols: give --system-map FILE (the kernel's System.map, or /proc/kallsyms copied out of the guest as root)");
		return NULL;
	}
	gz = gzopen(path, "rb");
	if (!gz) {
		hwi_fail(err, HAYWIRE_E_FILE, "cannot open %s: %s", path,
			 strerror(errno ? errno : ENOMEM));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		gzclose(gz);
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	while (gzgets(gz, line, sizeof(line))) {
		uint64_t addr;
		char type, *name;
		bool module;
		size_t len;

		lineno++;
		if (!strchr(line, '\n') && !gzeof(gz)) {
			hwi_fail(err, HAYWIRE_E_INVALID,
				 "%s:%lu: line longer than %d bytes: not a System.map",
				 path, lineno, LINE_MAX_LEN - 1);
			goto fail;
		}
		if (!parse_line(line, &addr, &type, &name, &module)) {
			hwi_fail(err, HAYWIRE_E_INVALID,
				 "%s:%lu: not a System.map or kallsyms line",
				 path, lineno);
			goto fail;
		}
		if (module)
			continue;
		if (s->count == SYMBOLS_MAX) {
			hwi_fail(err, HAYWIRE_E_INVALID,
				 "%s: more than %d symbols", path, SYMBOLS_MAX);
			goto fail;
		}
		len = strlen(name) + 1;
		if (!grow((void **)&s->by_name, &cap, s->count + 1,
			  sizeof(*s->by_name)) ||
		    !grow((void **)&s->names, &names_cap, names_len + len, 1)) {
			hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
			goto fail;
		}
		memcpy(s->names + names_len, name, len);
		s->by_name[s->count].addr = addr;
		s->by_name[s->count].name_off = (uint32_t)names_len;
		s->by_name[s->count].type = type;
		names_len += len;
		s->count++;
		if (addr)
			all_zero = false;
		if (!strcmp(name, "_text")) {
			s->text = addr;
			have_text = true;
		}
	}
	if (!gzeof(gz)) {
		int zerr;

		hwi_fail(err, HAYWIRE_E_FILE, "cannot read %s: %s", path,
			 gzerror(gz, &zerr));
		goto fail;
	}
	gzclose(gz);
	gz = NULL;
	if (!have_text) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "%s has no _text symbol: not a kernel's System.map (Debian's /boot/System.map is a placeholder; the real one is in the linux-image-*-dbg package, or copy /proc/kallsyms out of the guest as root, from a kernel with CONFIG_KALLSYMS_ALL: Debian's arm64 6.1 has it off)",
			 path);
		goto fail;
	}
	/* in a kernel half (x86-64's text window, arm64's vmalloc area) */
	if (all_zero || !hwi_kptr_ok(s->text, 4096)) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "%s gives _text at 0x%llx: the addresses were hidden (read /proc/kallsyms as root, with kernel.kptr_restrict < 2)",
			 path, (unsigned long long)s->text);
		goto fail;
	}
	s->by_addr = malloc(s->count * sizeof(*s->by_addr));
	if (!s->by_addr) {
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(s->by_addr, s->by_name, s->count * sizeof(*s->by_addr));
	qsort_r(s->by_name, s->count, sizeof(*s->by_name), by_name, s);
	qsort(s->by_addr, s->count, sizeof(*s->by_addr), by_addr);
	return s;

fail:
	if (gz)
		gzclose(gz);
	haywire_symbols_close(s);
	return NULL;
}

void haywire_symbols_close(struct haywire_symbols *s)
{
	if (!s)
		return;
	free(s->by_name);
	free(s->by_addr);
	free(s->names);
	free(s);
}

bool hwi_sym(const struct haywire_symbols *s, const char *name,
	     uint64_t *addr)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, sym_name(s, &s->by_name[mid]));

		if (!c) {
			*addr = s->by_name[mid].addr;
			return true;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

const char *hwi_sym_at(const struct haywire_symbols *s, uint64_t addr)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->by_addr[mid].addr == addr) {
			/* the first of several names for one address */
			while (mid && s->by_addr[mid - 1].addr == addr)
				mid--;
			return sym_name(s, &s->by_addr[mid]);
		}
		if (addr < s->by_addr[mid].addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool hwi_sym_at_is(const struct haywire_symbols *s, uint64_t addr,
		   const char *name)
{
	uint64_t want;

	return hwi_sym(s, name, &want) && want == addr;
}
