/* SPDX-License-Identifier: MIT */
/* The haywire command's output: text tables and JSON (json-c). */
#ifndef HAYWIRE_OUTPUT_H
#define HAYWIRE_OUTPUT_H

#include <stdio.h>

#include <json.h>

#include "haywire.h"

/* Flag bits as words, e.g. "truncated, mm_busy"; unknown bits as "bit7". */
void format_index_flags(char *buf, size_t n, uint32_t flags);
void format_proc_flags(char *buf, size_t n, uint32_t flags);

/* One line of /proc/PID/maps, exactly as the kernel prints it. */
void print_maps_line(FILE *out, const struct haywire_vma *vma);
void print_maps(FILE *out, const struct haywire_maps *maps);
void print_ps(FILE *out, const struct haywire_procs *procs);
void print_info(FILE *out, const struct haywire_info *info);

/* A guest string as a JSON string (see output.c for non-UTF-8 bytes). */
struct json_object *json_guest_string(const char *s, size_t len);
struct json_object *json_info(const struct haywire_info *info);
struct json_object *json_ps(const struct haywire_procs *procs);
struct json_object *json_maps(const struct haywire_maps *maps);
/* Print and release a JSON value, one flavour everywhere. */
void print_json(FILE *out, struct json_object *obj);

#endif /* HAYWIRE_OUTPUT_H */
