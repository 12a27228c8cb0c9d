// SPDX-License-Identifier: MIT
/* libvirt domains in a build without libvirt (make LIBVIRT=0). */
#include <stdio.h>
#include <stdlib.h>

#include "../libvirt.h"

bool lv_supported(void)
{
	return false;
}

struct lv *lv_open(const char *uri, struct haywire_error *err)
{
	(void)uri;
	err->code = HAYWIRE_E_INVALID;
	snprintf(err->msg, sizeof(err->msg),
		 "this haywire was built without libvirt (make LIBVIRT=0, the default without libvirt-dev; build with LIBVIRT=1)");
	return NULL;
}

void lv_close(struct lv *lv)
{
	(void)lv;
}

bool lv_alive(struct lv *lv)
{
	(void)lv;
	return false;
}

void lv_domain_ram(struct lv *lv, const char *name, int known_id,
		   struct lv_domain *d)
{
	(void)lv; (void)name; (void)known_id;
	d->state = LV_FAILED;
	d->id = -1;
	snprintf(d->why, sizeof(d->why), "this haywire was built without libvirt");
}

int lv_running(struct lv *lv, char ***names, unsigned int *count,
	       struct haywire_error *err)
{
	(void)lv;
	*names = NULL;
	*count = 0;
	return lv_open(NULL, err) ? 0 : err->code;
}

void lv_names_free(char **names, unsigned int count)
{
	(void)names; (void)count;
}
