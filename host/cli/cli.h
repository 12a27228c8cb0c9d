/* SPDX-License-Identifier: MIT */
/* The haywire command's pieces shared between its source files. */
#ifndef HAYWIRE_CLI_H
#define HAYWIRE_CLI_H

#include <stdbool.h>

#include "haywire.h"

enum exit_code {
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
	EXIT_NO_BEACON = 3,
	EXIT_BUSY = 4,
	EXIT_NOT_FOUND = 5,
	EXIT_REFUSED = 6,	/* the guest refused a request */
	EXIT_UNMAPPED = 7,	/* read: an address not in RAM */
	EXIT_DIFFERENT = 8,	/* diff: the views disagree */
	EXIT_AMBIGUOUS = 9,	/* several beacons validate: --index-gpa */
};

/* exporter: what the command line adds to the config file. */
#define EXPORTER_LISTEN		"127.0.0.1:9847"
#define EXPORTER_TOP_MAX	50
#define EXPORTER_MAX_ARGS	256
struct exporter_args {
	const char *config;
	const char *vms[EXPORTER_MAX_ARGS];	/* NAME=RAMFILE */
	unsigned int nvms;
	const char *globs[EXPORTER_MAX_ARGS];
	unsigned int nglobs;
	const char *domains[EXPORTER_MAX_ARGS];	/* --libvirt NAME */
	unsigned int ndomains;
	bool libvirt_all;		/* every running libvirt domain */
	const char *listen;
	const char *top;
	unsigned int scrapes;		/* print the last of N, no HTTP */
};

/* top: -d, -b, -n. */
struct top_args {
	unsigned int delay_ms;		/* 0: the snapshot interval */
	bool batch;
	unsigned int iterations;	/* 0: until q (batch: forever) */
};

/* What the command line asked for. */
struct cli {
	struct haywire_source_opts opts;
	struct haywire_opts beacon_opts;
	struct haywire_hint hint;
	bool use_hint, have_hint;
	bool json;
	bool via_guest;			/* translate, read: ask the module */
	bool off;			/* camera --off */
	unsigned int timeout_ms;	/* for each answer to a request */
	const char *out_path;		/* read -o */
	unsigned int runs;		/* bench --runs */
	bool containers;		/* ps --containers */
	bool follow;			/* events --follow */
	uint64_t events_from;		/* events --from: HAYWIRE_EVENTS_* or
					 * a sequence number */
	const char *domain;		/* --domain: the libvirt domain */
	const char *libvirt_uri;	/* --libvirt-uri, NULL: libvirt's */
	int status;			/* exit status of a success, or 0 */
	struct exporter_args exporter;
	struct top_args top;
};

/* Warnings are printed once the command cannot fail any more. */
__attribute__((format(printf, 1, 2)))
void warn(const char *fmt, ...);
void print_warnings(void);

/* Open a source of the given kind with the command line's options. */
struct haywire_source *cli_open_source(struct cli *cli,
				       enum haywire_source_kind kind,
				       struct haywire_error *err);
void cli_close_source(struct cli *cli, struct haywire_source *src);

int cmd_diff(struct cli *cli, char **argv, struct haywire_error *err);
int cmd_bench(struct cli *cli, char **argv, struct haywire_error *err);
int cmd_top(struct cli *cli, char **argv, struct haywire_error *err);
int cmd_exporter(struct cli *cli, char **argv, struct haywire_error *err);
int cmd_events(struct cli *cli, char **argv, struct haywire_error *err);

/* VADDR: hexadecimal, 0x optional, as /proc/PID/maps prints addresses. */
bool parse_address(const char *s, uint64_t *v);
/* LEN: decimal or 0x hexadecimal with an optional K, M or G (binary). */
bool parse_length(const char *s, uint64_t *v);

#endif /* HAYWIRE_CLI_H */
