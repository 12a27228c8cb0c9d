// SPDX-License-Identifier: MIT
/*
 * The guest kernel's types, from its BTF (parsed with libbpf's BTF API):
 * raw BTF (a copy of the guest's /sys/kernel/btf/vmlinux), a vmlinux ELF
 * file (its .BTF section, found with libelf), or the kernel image itself
 * (an x86 bzImage: the setup header says where the compressed vmlinux
 * ELF is; it is decompressed with Debian's zlib, liblzma, liblz4 or
 * libzstd). An image also carries the kernel's version banner, which is
 * compared with the guest's own to make sure the types fit the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gelf.h>
#include <libelf.h>
#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include "agentless.h"

#define BTF_FILE_MAX	(1024 * MIB)	/* any input file */
#define VMLINUX_MAX	(1024 * MIB)	/* a decompressed kernel */
#define LZ4_LEGACY_MAGIC	0x184c2102U
#define LZ4_LEGACY_BLOCK	(8 * MIB)

/* Read a whole file (at most max bytes) into malloc'd memory. */
static int slurp(const char *path, size_t max, unsigned char **data,
		 size_t *size, struct haywire_error *err)
{
	struct stat st;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	*data = NULL;
	if (fd < 0)
		return hwi_fail(err, HAYWIRE_E_FILE, "cannot open %s: %s",
				path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return hwi_fail(err, HAYWIRE_E_FILE, "%s is not a regular file",
				path);
	}
	if ((uint64_t)st.st_size > max || st.st_size < 16) {
		close(fd);
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s is %lld bytes: too %s for kernel type information",
				path, (long long)st.st_size,
				st.st_size < 16 ? "small" : "large");
	}
	*size = (size_t)st.st_size;
	*data = malloc(*size);
	if (!*data) {
		close(fd);
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	}
	while (done < *size) {
		ssize_t n = read(fd, *data + done, *size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			free(*data);
			*data = NULL;
			return hwi_fail(err, HAYWIRE_E_FILE,
					"cannot read %s: %s", path,
					n ? strerror(errno) : "file shrank");
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
}

/* ---- decompressing a bzImage's payload -------------------------------- */

struct outbuf {
	unsigned char *p;
	size_t len, cap;
};

static bool out_reserve(struct outbuf *o, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (more <= o->cap - o->len)
		return true;
	if (more > VMLINUX_MAX - o->len)
		return false;
	cap = o->cap ? o->cap : 64 * MIB;
	while (cap - o->len < more)
		cap *= 2;
	if (cap > VMLINUX_MAX)
		cap = VMLINUX_MAX;
	p = realloc(o->p, cap);
	if (!p)
		return false;
	o->p = p;
	o->cap = cap;
	return true;
}

static bool inflate_gzip(const unsigned char *in, size_t len, struct outbuf *o)
{
	z_stream z = { 0 };
	int rc = Z_OK;

	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return false;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	while (rc != Z_STREAM_END) {
		if (!out_reserve(o, MIB))
			break;
		z.next_out = o->p + o->len;
		z.avail_out = (uInt)(o->cap - o->len > UINT32_MAX ?
				     UINT32_MAX : o->cap - o->len);
		rc = inflate(&z, Z_NO_FLUSH);
		o->len = (size_t)(z.next_out - o->p);
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
	}
	inflateEnd(&z);
	return rc == Z_STREAM_END;
}

static bool inflate_xz(const unsigned char *in, size_t len, struct outbuf *o)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret rc = LZMA_OK;

	if (lzma_stream_decoder(&s, UINT64_MAX, 0) != LZMA_OK)
		return false;
	s.next_in = in;
	s.avail_in = len;
	while (rc == LZMA_OK) {
		if (!out_reserve(o, MIB))
			break;
		s.next_out = o->p + o->len;
		s.avail_out = o->cap - o->len;
		rc = lzma_code(&s, s.avail_in ? LZMA_RUN : LZMA_FINISH);
		o->len = (size_t)(s.next_out - o->p);
	}
	lzma_end(&s);
	return rc == LZMA_STREAM_END;
}

/* The kernel's lz4 is the legacy format: magic, then sized blocks. */
static bool inflate_lz4(const unsigned char *in, size_t len, struct outbuf *o)
{
	size_t pos = 4;
	bool any = false;

	while (pos + 4 <= len) {
		uint32_t chunk;
		int n;

		memcpy(&chunk, in + pos, 4);
		if (chunk == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		/* Past the data: the image's 4-byte size trailer. */
		if (!chunk || chunk > len - pos - 4)
			break;
		if (!out_reserve(o, LZ4_LEGACY_BLOCK))
			return false;
		n = LZ4_decompress_safe((const char *)in + pos + 4,
					(char *)o->p + o->len, (int)chunk,
					LZ4_LEGACY_BLOCK);
		if (n < 0)
			return false;
		o->len += (size_t)n;
		pos += 4 + chunk;
		any = true;
	}
	return any;
}

static bool inflate_zstd(const unsigned char *in, size_t len, struct outbuf *o)
{
	ZSTD_DStream *s = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, len, 0 };
	size_t rc = 1;

	if (!s)
		return false;
	ZSTD_DCtx_setParameter(s, ZSTD_d_windowLogMax, 31);
	while (rc) {
		ZSTD_outBuffer ob;

		if (!out_reserve(o, MIB))
			break;
		ob.dst = o->p;
		ob.size = o->cap;
		ob.pos = o->len;
		rc = ZSTD_decompressStream(s, &ob, &ib);
		o->len = ob.pos;
		if (ZSTD_isError(rc) || (ib.pos == ib.size && ob.pos < ob.size &&
					 rc))
			break;
	}
	ZSTD_freeDStream(s);
	return rc == 0;
}

/*
 * The vmlinux ELF inside an x86 bzImage (boot protocol 2.08+: the setup
 * header gives the payload's offset and length).
 */
static int bzimage_vmlinux(const char *path, const unsigned char *img,
			   size_t size, struct outbuf *o, char *how,
			   size_t how_len, struct haywire_error *err)
{
	uint32_t payload_off, payload_len;
	uint16_t version;
	size_t setup;
	const unsigned char *p;
	bool ok;

	memcpy(&version, img + 0x206, 2);
	memcpy(&payload_off, img + 0x248, 4);
	memcpy(&payload_len, img + 0x24c, 4);
	setup = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512;
	if (version < 0x208 || setup > size || payload_off > size - setup ||
	    payload_len > size - setup - payload_off || payload_len < 8)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s: a bzImage without a usable payload (boot protocol %u.%02u)",
				path, version >> 8, version & 0xff);
	p = img + setup + payload_off;
	if (p[0] == 0x1f && p[1] == 0x8b) {
		snprintf(how, how_len, "bzImage (gzip)");
		ok = inflate_gzip(p, payload_len, o);
	} else if (!memcmp(p, "\xfd" "7zXZ", 6)) {
		snprintf(how, how_len, "bzImage (xz)");
		ok = inflate_xz(p, payload_len, o);
	} else if (!memcmp(p, "\x02\x21\x4c\x18", 4)) {
		snprintf(how, how_len, "bzImage (lz4)");
		ok = inflate_lz4(p, payload_len, o);
	} else if (!memcmp(p, "\x28\xb5\x2f\xfd", 4)) {
		snprintf(how, how_len, "bzImage (zstd)");
		ok = inflate_zstd(p, payload_len, o);
	} else {
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s: the kernel is compressed in a format this reader does not decompress (gzip, xz, lz4 and zstd are supported)",
				path);
	}
	if (!ok)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s: cannot decompress the kernel (%s)", path,
				how);
	return 0;
}

/* ---- ELF: the .BTF section and the version banners ------------------- */

/* "Linux version ...\n" strings in data: the kernel's linux_banner. */
static void find_banners(struct haywire_btf *b, const unsigned char *data,
			 size_t size)
{
	static const char tag[] = "Linux version ";
	const unsigned char *p = data, *end = data + size;

	while (b->banners < HAYWIRE_BTF_BANNERS &&
	       (p = memmem(p, (size_t)(end - p), tag, sizeof(tag) - 1))) {
		const unsigned char *nl = memchr(p, '\n',
						 (size_t)(end - p) < 512 ?
						 (size_t)(end - p) : 512);

		if (nl && nl + 1 < end && nl[1] == '\0') {
			size_t n = (size_t)(nl - p) + 1;

			memcpy(b->banner[b->banners], p, n);
			b->banner[b->banners++][n] = '\0';
		}
		p += sizeof(tag) - 1;
	}
}

static int elf_btf(struct haywire_btf *b, const char *path,
		   unsigned char *image, size_t size,
		   struct haywire_error *err)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int rc = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return hwi_fail(err, HAYWIRE_E_INVALID, "libelf: %s",
				elf_errmsg(-1));
	elf = elf_memory((char *)image, size);
	if (!elf || elf_kind(elf) != ELF_K_ELF ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		rc = hwi_fail(err, HAYWIRE_E_INVALID, "%s: not a usable ELF file: %s",
			      path, elf_errmsg(-1));
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		if (!strcmp(name, ".BTF") && !b->btf) {
			if (data->d_size > UINT32_MAX) {
				rc = hwi_fail(err, HAYWIRE_E_INVALID,
					      "%s: .BTF section too large", path);
				goto out;
			}
			b->btf = btf__new(data->d_buf, (uint32_t)data->d_size);
			if (!b->btf) {
				rc = hwi_fail(err, HAYWIRE_E_INVALID,
					      "%s: libbpf cannot parse its .BTF section: %s",
					      path, strerror(errno));
				goto out;
			}
		} else if (!strcmp(name, ".rodata")) {
			find_banners(b, data->d_buf, data->d_size);
		}
	}
	if (!b->btf)
		rc = hwi_fail(err, HAYWIRE_E_INVALID,
			      "%s has no .BTF section: the kernel was built without CONFIG_DEBUG_INFO_BTF",
			      path);
out:
	if (elf)
		elf_end(elf);
	return rc;
}

/* ---- arm64 Image: the BTF blob between __start_BTF and __stop_BTF ---- */

#define A64_IMAGE_MAGIC_OFF	0x38
#define BTF_HDR_LEN		24	/* struct btf_header of version 1 */

static bool is_arm64_image(const unsigned char *p, size_t size)
{
	return size > A64_IMAGE_MAGIC_OFF + 4 &&
	       !memcmp(p + A64_IMAGE_MAGIC_OFF, "ARM\x64", 4);
}

/*
 * An Image has no sections: its .BTF is found by its header (magic 0xeb9f,
 * version 1, a 24-byte header whose type and string sections fit the
 * image), and the candidate libbpf parses with the most types is the
 * vmlinux's BTF.
 */
static int image_btf(struct haywire_btf *b, const char *path,
		     const unsigned char *img, size_t size,
		     struct haywire_error *err)
{
	size_t at, best_at = 0, best_len = 0;
	uint32_t best_types = 0;

	for (at = 0; at + BTF_HDR_LEN <= size; at += 4) {
		uint32_t h[6];
		uint64_t len;
		struct btf *t;

		if (img[at] != 0x9f || img[at + 1] != 0xeb || img[at + 2] != 1)
			continue;
		memcpy(h, img + at, sizeof(h));
		if (h[1] != BTF_HDR_LEN)
			continue;
		/* h[2..5]: type_off, type_len, str_off, str_len */
		len = (uint64_t)BTF_HDR_LEN + h[4] + h[5];
		if (h[4] < (uint64_t)h[2] + h[3] || len > size - at ||
		    len > UINT32_MAX)
			continue;
		t = btf__new(img + at, (uint32_t)len);
		if (!t)
			continue;
		if (btf__type_cnt(t) > best_types) {
			best_types = btf__type_cnt(t);
			best_at = at;
			best_len = len;
		}
		btf__free(t);
	}
	if (!best_len)
		return hwi_fail(err, HAYWIRE_E_INVALID,
				"%s: an arm64 Image without BTF: the kernel was built without CONFIG_DEBUG_INFO_BTF",
				path);
	b->btf = btf__new(img + best_at, (uint32_t)best_len);
	if (!b->btf)
		return hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
	find_banners(b, img, size);
	return 0;
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

struct haywire_btf *haywire_btf_open(const char *path,
				     struct haywire_error *err)
{
	struct haywire_btf *b;
	unsigned char *data;
	size_t size = 0;
	struct outbuf o = { 0 };
	int rc;

	if (!path || !*path) {
		hwi_fail(err, HAYWIRE_E_INVALID,
			 "no kernel type information: give --btf FILE (the guest's /sys/kernel/btf/vmlinux, its vmlinux or its vmlinuz)");
		return NULL;
	}
	/* libbpf explains failures on stderr; ours are one line. */
	libbpf_set_print(quiet_libbpf);
	if (slurp(path, BTF_FILE_MAX, &data, &size, err))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b) {
		free(data);
		hwi_fail(err, HAYWIRE_E_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(b->path, sizeof(b->path), "%s", path);
	if (data[0] == 0x9f && data[1] == 0xeb) {
		snprintf(b->kind, sizeof(b->kind), "raw BTF");
		b->btf = btf__new(data, (uint32_t)size);
		rc = b->btf ? 0 : hwi_fail(err, HAYWIRE_E_INVALID,
					   "%s: libbpf cannot parse it as BTF: %s",
					   path, strerror(errno));
	} else if (!memcmp(data, ELFMAG, SELFMAG)) {
		snprintf(b->kind, sizeof(b->kind), "vmlinux ELF");
		rc = elf_btf(b, path, data, size, err);
	} else if (size > 0x250 && !memcmp(data + 0x202, "HdrS", 4)) {
		rc = bzimage_vmlinux(path, data, size, &o, b->kind,
				     sizeof(b->kind), err);
		if (!rc && (o.len < SELFMAG || memcmp(o.p, ELFMAG, SELFMAG)))
			rc = hwi_fail(err, HAYWIRE_E_INVALID,
				      "%s: the decompressed kernel is not an ELF file",
				      path);
		if (!rc)
			rc = elf_btf(b, path, o.p, o.len, err);
		free(o.p);
	} else if (is_arm64_image(data, size)) {
		snprintf(b->kind, sizeof(b->kind), "arm64 Image");
		rc = image_btf(b, path, data, size, err);
	} else if (size > 2 && data[0] == 0x1f && data[1] == 0x8b) {
		/* Image.gz, as some distributions ship arm64 kernels */
		snprintf(b->kind, sizeof(b->kind), "arm64 Image (gzip)");
		rc = inflate_gzip(data, size, &o) && is_arm64_image(o.p, o.len) ?
		     image_btf(b, path, o.p, o.len, err) :
		     hwi_fail(err, HAYWIRE_E_INVALID,
			      "%s: gzip data that is not an arm64 Image", path);
		free(o.p);
	} else {
		rc = hwi_fail(err, HAYWIRE_E_INVALID,
			      "%s is neither BTF, a vmlinux ELF file, an x86 bzImage nor an arm64 Image",
			      path);
	}
	free(data);
	if (rc) {
		haywire_btf_close(b);
		return NULL;
	}
	return b;
}

void haywire_btf_close(struct haywire_btf *b)
{
	if (!b)
		return;
	btf__free(b->btf);
	free(b);
}

/* ---- lookups ---------------------------------------------------------- */

/* A struct or union by name. */
static int find_composite(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);

	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_UNION);
	return id;
}

/*
 * Member `name` of composite type `id`, looking into anonymous struct and
 * union members: bit offset and the member's type id.
 */
static bool find_member(const struct btf *btf, int id, const char *name,
			unsigned int depth, uint32_t *bit_off, int *type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, (uint32_t)id);
	const struct btf_member *m;
	unsigned int i;

	if (!t || !btf_is_composite(t) || depth > 8)
		return false;
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		const char *mname = btf__name_by_offset(btf, m->name_off);
		uint32_t off = btf_member_bit_offset(t, i);

		if (mname && *mname) {
			if (strcmp(mname, name))
				continue;
			if (btf_member_bitfield_size(t, i))
				return false;
			*bit_off = off;
			*type_id = (int)m->type;
			return true;
		}
		/* anonymous: look inside */
		{
			int inner = btf__resolve_type(btf, m->type);
			uint32_t inner_off;

			if (inner > 0 && find_member(btf, inner, name, depth + 1,
						     &inner_off, type_id)) {
				*bit_off = off + inner_off;
				return true;
			}
		}
	}
	return false;
}

int hwi_btf_field(const struct haywire_btf *b, const char *type,
		  const char *path, struct hwi_field *f)
{
	char part[64];
	const char *p = path;
	uint32_t bits = 0;
	int id = find_composite(b->btf, type);
	int mtype = -1;
	int64_t size;

	memset(f, 0, sizeof(*f));
	if (id < 0)
		return -1;
	while (*p) {
		size_t n = strcspn(p, ".");
		uint32_t off;

		if (n >= sizeof(part))
			return -1;
		memcpy(part, p, n);
		part[n] = '\0';
		p += n + (p[n] == '.');
		if (!find_member(b->btf, id, part, 0, &off, &mtype))
			return -1;
		bits += off;
		id = btf__resolve_type(b->btf, (uint32_t)mtype);
		if (id < 0)
			return -1;
	}
	if (mtype < 0 || bits % 8)
		return -1;
	size = btf__resolve_size(b->btf, (uint32_t)mtype);
	if (size <= 0 || size > UINT32_MAX)
		return -1;
	f->off = bits / 8;
	f->size = (uint32_t)size;
	f->type_id = id;
	f->have = true;
	{
		const struct btf_type *t = btf__type_by_id(b->btf, (uint32_t)id);

		if (t && btf_is_array(t)) {
			const struct btf_array *a = btf_array(t);
			int64_t esize = btf__resolve_size(b->btf, a->type);

			f->nelems = a->nelems;
			f->elem_size = esize > 0 ? (uint32_t)esize : 0;
			f->elem_type_id = btf__resolve_type(b->btf, a->type);
		}
	}
	return 0;
}

int hwi_btf_size(const struct haywire_btf *b, const char *type,
		 uint32_t *size)
{
	int id = find_composite(b->btf, type);
	int64_t s;

	if (id < 0)
		return -1;
	s = btf__resolve_size(b->btf, (uint32_t)id);
	if (s <= 0 || s > UINT32_MAX)
		return -1;
	*size = (uint32_t)s;
	return 0;
}

bool hwi_btf_is_struct(const struct haywire_btf *b, int type_id,
		       const char *name)
{
	const struct btf_type *t;
	const char *tname;

	if (type_id <= 0)
		return false;
	t = btf__type_by_id(b->btf, (uint32_t)type_id);
	if (!t || !btf_is_composite(t))
		return false;
	tname = btf__name_by_offset(b->btf, t->name_off);
	return tname && !strcmp(tname, name);
}

int hwi_btf_enum_value(const struct haywire_btf *b, const char *name,
		       int64_t *value)
{
	uint32_t n = btf__type_cnt(b->btf), id;

	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(b->btf, id);
		unsigned int i;

		if (!t)
			continue;
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(b->btf,
								 e->name_off),
					    name)) {
					*value = e->val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (i = 0; i < btf_vlen(t); i++, e++)
				if (!strcmp(btf__name_by_offset(b->btf,
								 e->name_off),
					    name)) {
					*value = (int64_t)btf_enum64_value(e);
					return 0;
				}
		}
	}
	return -1;
}
