/* SPDX-License-Identifier: MIT */
/* The haywire command's output: text tables and JSON (json-c). */
#ifndef HAYWIRE_OUTPUT_H
#define HAYWIRE_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <json.h>

#include "haywire.h"

/*
 * Guest text for a terminal: bytes a terminal would interpret as \ooo (see
 * output.c for the rule). print_guest returns the bytes printed;
 * format_guest fills dst (whole characters only, always terminated). A
 * buffer of GUEST_TEXT_MAX(len) holds any len guest bytes.
 */
#define GUEST_TEXT_MAX(len) (4 * (len) + 1)
size_t print_guest(FILE *out, const char *s, size_t len);
char *format_guest(char *dst, size_t size, const char *s, size_t len);

/* Flag bits as words, e.g. "truncated, mm_busy"; unknown bits as "bit7". */
void format_index_flags(char *buf, size_t n, uint32_t flags);
void format_proc_flags(char *buf, size_t n, uint32_t flags);

/* One line of /proc/PID/maps, exactly as the kernel prints it. */
void print_maps_line(FILE *out, const struct haywire_vma *vma);
void print_maps(FILE *out, const struct haywire_maps *maps);
void print_ps(FILE *out, const struct haywire_procs *procs, bool containers);
void print_info(FILE *out, const struct haywire_info *info);

/* A guest string as a JSON string (see output.c for non-UTF-8 bytes). */
struct json_object *json_guest_string(const char *s, size_t len);
struct json_object *json_info(const struct haywire_info *info);
/* 1.3: the guest-wide section and a CPU's times. */
struct json_object *json_guest(const struct haywire_guest *g);
struct json_object *json_cpu_time(const struct haywire_cpu_time *c);
/* List outputs, written as a stream (see output.c); source: "beacon" ... */
void print_json_ps(FILE *out, const struct haywire_procs *procs,
		   const char *source);
void print_json_maps(FILE *out, const struct haywire_maps *maps,
		     const char *source);
/* QEMU's RAM map (info), and what an agentless source found. */
void print_qemu_ram(FILE *out, const struct haywire_qemu_ram *ram);
void json_add_qemu_ram(struct json_object *o,
		       const struct haywire_qemu_ram *ram);
void print_agentless_info(FILE *out, const char *source,
			  const struct haywire_agentless_info *ai);
struct json_object *json_agentless_info(const char *source,
					const struct haywire_agentless_info *ai);

/* diff: processes seen by one view only. */
struct diff_out {
	const char *source;		/* of the agentless walk */
	uint64_t generation;		/* of the beacon snapshot */
	size_t beacon_count, agentless_count;
	const struct haywire_proc *const *only_beacon;
	size_t n_beacon;
	const struct haywire_proc *const *only_agentless;
	size_t n_agentless;
};

void print_diff(FILE *out, const struct diff_out *d);
void print_json_diff(FILE *out, const struct diff_out *d);

/* Print and release a JSON value, one flavour everywhere. */
void print_json(FILE *out, struct json_object *obj);

/* A JSON document written as a stream: head members, then lists of
 * records, each printed and released as it is added. */
struct json_doc {
	FILE *out;
	size_t members, records;
};
void json_doc_begin(struct json_doc *d, FILE *out, struct json_object *head);
void json_list_begin(struct json_doc *d, const char *key);
void json_list_add(struct json_doc *d, struct json_object *record);
void json_list_end(struct json_doc *d);
void json_doc_end(struct json_doc *d);

/* translate: runs of VA -> GPA -> file offset. */
struct translate_result {
	const char *source;		/* beacon, memfile or qmp */
	int32_t pid;
	bool via_guest;
	uint64_t addr, len;
	const struct haywire_xlate_run *runs;
	size_t count;
	const struct haywire_gpa_map *map;	/* for file offsets */
};
void print_translate(FILE *out, const struct translate_result *t);
void print_json_translate(FILE *out, const struct translate_result *t);

/* read: like hexdump -C, with virtual addresses in the offset column;
 * va is the address of buf[0]. */
void print_hexdump(FILE *out, uint64_t va, const unsigned char *buf,
		   size_t len);
struct json_object *json_read(const char *source, int32_t pid, bool via_guest,
			      uint64_t va, const unsigned char *buf, size_t len);

void print_detail(FILE *out, const struct haywire_detail *d);
struct json_object *json_detail(const struct haywire_detail *d);

/* camera: every camera, or the selected one's VMAs. */
void print_cameras(FILE *out, const struct haywire_cameras *c);
struct json_object *json_cameras(const struct haywire_cameras *c);
void print_camera(FILE *out, const struct haywire_cameras *c);
void print_json_camera(FILE *out, const struct haywire_cameras *c);

/* The small answers: camera --off, refresh, ping. */
struct json_object *json_camera_off(int camera, int32_t pid);
struct json_object *json_generation(uint64_t generation);
struct json_object *json_ping(const struct haywire_ping *ping,
			      uint64_t round_trip_ns);

#endif /* HAYWIRE_OUTPUT_H */
