/* SPDX-License-Identifier: MIT */
/*
 * libvirt guests by domain name (make LIBVIRT=1): where a running domain's
 * RAM file is, asked of its QEMU through libvirt. A domain is readable
 * when its memory is one file-backed backend shared with the host
 * (<memoryBacking><source type='file'/><access mode='shared'/>); any other
 * domain is refused with the reason, never guessed at.
 */
#ifndef HAYWIRE_LIBVIRT_H
#define HAYWIRE_LIBVIRT_H

#include <limits.h>
#include <stdbool.h>

#include "haywire.h"

struct lv;	/* a connection to libvirt */

enum lv_state {
	LV_READABLE,		/* running, path is its RAM file */
	LV_NO_DOMAIN,		/* libvirt knows no such domain */
	LV_NOT_RUNNING,		/* defined, not running */
	LV_NOT_SHARED,		/* running, memory not file-backed + shared */
	LV_FAILED,		/* libvirt or QEMU could not be asked */
};

struct lv_domain {
	enum lv_state state;
	int id;			/* libvirt's id of the running domain, or -1 */
	char path[PATH_MAX];	/* LV_READABLE: the RAM file */
	char why[HAYWIRE_MSG_MAX]; /* any other state: why, in one line */
};

/* Whether this haywire was built with libvirt. */
bool lv_supported(void);
/* uri NULL: libvirt's default (LIBVIRT_DEFAULT_URI, else its own rule). */
struct lv *lv_open(const char *uri, struct haywire_error *err);
void lv_close(struct lv *lv);
/* Whether the connection still works (libvirt may have restarted). */
bool lv_alive(struct lv *lv);
/* Where domain NAME's RAM file is; d->state says whether it is readable.
 * Asks QEMU only when the domain's id differs from known_id (a new run of
 * the domain): pass -1 to always ask, and d as last filled to keep. */
void lv_domain_ram(struct lv *lv, const char *name, int known_id,
		   struct lv_domain *d);
/* The names of the running domains (free with lv_names_free). */
int lv_running(struct lv *lv, char ***names, unsigned int *count,
	       struct haywire_error *err);
void lv_names_free(char **names, unsigned int count);

#endif /* HAYWIRE_LIBVIRT_H */
