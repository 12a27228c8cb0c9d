// SPDX-License-Identifier: MIT
/*
 * libvirt guests by domain name. The RAM file's path is asked of the
 * domain's own QEMU (qom-get through libvirt's monitor passthrough), not
 * derived from libvirt's file naming or its XML, which do not carry it:
 * QEMU's memory backend is the one thing that knows which file it maps
 * and whether it maps it shared. libvirt marks a domain asked this way as
 * "tainted: custom-monitor" in its log (a note, the queries only read).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>

#include "libvirt.h"

/* Running domains listed at most (as many as the exporter watches). */
#define LV_MAX_DOMAINS 1024

struct lv {
	virConnectPtr conn;
};

/* libvirt prints every error on stderr by default: ours are one line. */
static void quiet(void *data, virErrorPtr e)
{
	(void)data; (void)e;
}

static const char *last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m && *m ? m : "unknown libvirt error";
}

/* Messages quote QEMU and libvirt: cut to the line, never overflowing. */
__attribute__((format(printf, 3, 4)))
static void set_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

#define set_why(d, ...) set_msg((d)->why, sizeof((d)->why), __VA_ARGS__)

bool lv_supported(void)
{
	return true;
}

struct lv *lv_open(const char *uri, struct haywire_error *err)
{
	struct lv *lv = calloc(1, sizeof(*lv));

	if (!lv) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return NULL;
	}
	virSetErrorFunc(NULL, quiet);
	/* read-write: libvirt allows the monitor passthrough on no other */
	lv->conn = virConnectOpen(uri);
	if (!lv->conn) {
		err->code = HAYWIRE_E_FILE;
		snprintf(err->msg, sizeof(err->msg),
			 "cannot connect to libvirt%s%s: %s",
			 uri ? " at " : "", uri ? uri : "", last_error());
		free(lv);
		return NULL;
	}
	return lv;
}

void lv_close(struct lv *lv)
{
	if (!lv)
		return;
	virConnectClose(lv->conn);
	free(lv);
}

bool lv_alive(struct lv *lv)
{
	return virConnectIsAlive(lv->conn) == 1;
}

/*
 * qom-get PATH PROPERTY: its value (caller puts it), or NULL with the
 * reason in why (QEMU's own error class says a missing property).
 */
static json_object *qom_get(virDomainPtr dom, const char *path,
			    const char *property, bool *no_property,
			    char *why, size_t why_len)
{
	json_object *cmd = json_object_new_object(), *args = json_object_new_object();
	json_object *reply = NULL, *val = NULL, *error;
	char *text = NULL;

	*no_property = false;
	json_object_object_add(cmd, "execute", json_object_new_string("qom-get"));
	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "property", json_object_new_string(property));
	json_object_object_add(cmd, "arguments", args);
	if (virDomainQemuMonitorCommand(dom, json_object_to_json_string(cmd),
					&text, 0) < 0) {
		set_msg(why, why_len, "QEMU's monitor through libvirt: %s",
			 last_error());
		/* libvirt passes QEMU's errors on as its own */
		*no_property = strstr(last_error(), "not found") != NULL;
		goto out;
	}
	reply = json_tokener_parse(text);
	if (reply && json_object_object_get_ex(reply, "error", &error)) {
		json_object *desc = json_object_object_get(error, "desc");

		set_msg(why, why_len, "QEMU: %s", desc ?
			 json_object_get_string(desc) : "error");
		*no_property = desc && strstr(json_object_get_string(desc),
					      "not found");
	} else if (!reply || !json_object_object_get_ex(reply, "return", &val)) {
		set_msg(why, why_len, "QEMU's answer to qom-get is not QMP");
		val = NULL;
	} else {
		json_object_get(val);
	}
out:
	json_object_put(reply);
	json_object_put(cmd);
	free(text);
	return val;
}

/* The machine's memory backend: one file, shared, else refused. */
static void ask_qemu(virDomainPtr dom, const char *name, struct lv_domain *d)
{
	json_object *backend, *mem_path = NULL, *share = NULL;
	char why[HAYWIRE_MSG_MAX], obj[256];
	bool no_property;

	d->state = LV_FAILED;
	backend = qom_get(dom, "/machine", "memory-backend", &no_property,
			  why, sizeof(why));
	if (!backend || !json_object_is_type(backend, json_type_string) ||
	    !*json_object_get_string(backend)) {
		d->state = LV_NOT_SHARED;
		set_why(d,
			 "domain %s: QEMU names no single memory backend of the machine (NUMA cells, or a machine type older than QEMU 5.0?): %s",
			 name, backend ? "empty" : why);
		goto out;
	}
	/* "/objects/pc.ram", or a bare id on some QEMU versions */
	snprintf(obj, sizeof(obj), "%s%s",
		 *json_object_get_string(backend) == '/' ? "" : "/objects/",
		 json_object_get_string(backend));
	mem_path = qom_get(dom, obj, "mem-path", &no_property, why, sizeof(why));
	if (!mem_path) {
		if (no_property)
			d->state = LV_NOT_SHARED;
		set_why(d,
			 "domain %s: %s", name, no_property ?
			 "its memory is not file-backed (give it <memoryBacking><source type='file'/><access mode='shared'/></memoryBacking>)" :
			 why);
		goto out;
	}
	share = qom_get(dom, obj, "share", &no_property, why, sizeof(why));
	if (!share || !json_object_get_boolean(share)) {
		d->state = share ? LV_NOT_SHARED : LV_FAILED;
		set_why(d, "domain %s: %s", name, share ?
			 "its memory file is private to QEMU, not shared (give it <access mode='shared'/> in <memoryBacking>)" :
			 why);
		goto out;
	}
	if (!json_object_is_type(mem_path, json_type_string) ||
	    strlen(json_object_get_string(mem_path)) >= sizeof(d->path) ||
	    *json_object_get_string(mem_path) != '/') {
		set_why(d,
			 "domain %s: QEMU's mem-path is not an absolute file path", name);
		goto out;
	}
	snprintf(d->path, sizeof(d->path), "%s", json_object_get_string(mem_path));
	d->state = LV_READABLE;
out:
	json_object_put(backend);
	json_object_put(mem_path);
	json_object_put(share);
}

void lv_domain_ram(struct lv *lv, const char *name, int known_id,
		   struct lv_domain *d)
{
	virDomainPtr dom = virDomainLookupByName(lv->conn, name);
	int active;

	if (!dom) {
		virErrorPtr e = virGetLastError();

		d->state = e && e->code == VIR_ERR_NO_DOMAIN ? LV_NO_DOMAIN :
			   LV_FAILED;
		d->id = -1;
		set_why(d, "domain %s: %s", name,
			 d->state == LV_NO_DOMAIN ? "libvirt has no such domain" :
			 last_error());
		return;
	}
	active = virDomainIsActive(dom);
	if (active <= 0) {
		d->state = active ? LV_FAILED : LV_NOT_RUNNING;
		d->id = -1;
		set_why(d, "domain %s: %s", name,
			 active ? last_error() : "not running");
	} else if ((int)virDomainGetID(dom) != known_id || known_id < 0) {
		/* a new run of the domain: a new QEMU, maybe a new file */
		d->id = (int)virDomainGetID(dom);
		ask_qemu(dom, name, d);
	}
	virDomainFree(dom);
}

int lv_running(struct lv *lv, char ***names, unsigned int *count,
	       struct haywire_error *err)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(lv->conn, &doms,
					 VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	unsigned int i, kept = 0;

	*names = NULL;
	*count = 0;
	if (n < 0) {
		err->code = HAYWIRE_E_FILE;
		snprintf(err->msg, sizeof(err->msg),
			 "cannot list libvirt's domains: %s", last_error());
		return err->code;
	}
	*names = calloc((size_t)n + 1, sizeof(**names));
	for (i = 0; i < (unsigned int)n; i++) {
		const char *name = virDomainGetName(doms[i]);

		if (*names && kept < LV_MAX_DOMAINS && name)
			(*names)[kept] = strdup(name);
		if (*names && (*names)[kept])
			kept++;
		virDomainFree(doms[i]);
	}
	free(doms);
	*count = kept;
	if (!*names || kept < (unsigned int)n) {
		lv_names_free(*names, kept);
		*names = NULL;
		*count = 0;
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg),
			 "libvirt lists %d running domains: out of memory, or more than %d",
			 n, LV_MAX_DOMAINS);
		return err->code;
	}
	return 0;
}

void lv_names_free(char **names, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count && names; i++)
		free(names[i]);
	free(names);
}
