// SPDX-License-Identifier: MIT
/*
 * haywire events: the guest's lifecycle events (protocol 1.3), one line
 * each (JSON lines with --json), from a sequence number or from now;
 * --follow keeps polling until SIGINT or SIGTERM.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "output.h"

#define EVENTS_BATCH		256
#define FOLLOW_POLL_MS		10	/* idle poll: a bounded sleep */
#define REDISCOVER_MS		200	/* while the module is away */

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	/* A signal cuts it short: that is what we want. */
	nanosleep(&ts, NULL);
}

/* wait() status as a shell shows it: "exit N" or "signal N". */
static void format_exit(char *buf, size_t n, int32_t code)
{
	if (code & 0x7f)
		snprintf(buf, n, "signal %d", code & 0x7f);
	else
		snprintf(buf, n, "exit %d", (code >> 8) & 0xff);
}

static void print_event_text(FILE *out, const struct haywire_event *e)
{
	char comm[GUEST_TEXT_MAX(HW_COMM_LEN)];
	char why[32];

	format_guest(comm, sizeof(comm), e->comm, strlen(e->comm));
	fprintf(out, "%" PRIu64 " %" PRIu64 ".%06" PRIu64 " %s pid %d tgid %d ppid %d comm %s",
		e->seq, e->boot_ns / 1000000000, e->boot_ns / 1000 % 1000000,
		haywire_event_type_name(e->type), e->pid, e->tgid, e->ppid,
		comm);
	if (e->type == HW_EV_EXEC) {
		fputs(" file ", out);
		print_guest(out, e->filename, strlen(e->filename));
		if (e->flags & HW_EF_FILENAME_TRUNCATED)
			fprintf(out, " (truncated, %u bytes)", e->filename_len);
	}
	if (e->type == HW_EV_EXIT) {
		format_exit(why, sizeof(why), e->exit_code);
		fprintf(out, " %s", why);
	}
	if (e->flags & HW_EF_THREAD)
		fputs(" thread", out);
	fputc('\n', out);
}

static struct json_object *json_event(const struct haywire_event *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "seq", json_object_new_uint64(e->seq));
	json_object_object_add(o, "type", json_object_new_string(
		haywire_event_type_name(e->type)));
	json_object_object_add(o, "boot_ns", json_object_new_uint64(e->boot_ns));
	json_object_object_add(o, "real_ns", json_object_new_uint64(e->real_ns));
	json_object_object_add(o, "pid", json_object_new_int(e->pid));
	json_object_object_add(o, "tgid", json_object_new_int(e->tgid));
	json_object_object_add(o, "ppid", json_object_new_int(e->ppid));
	json_object_object_add(o, "cpu", json_object_new_uint64(e->cpu));
	json_object_object_add(o, "comm",
			       json_guest_string(e->comm, strlen(e->comm)));
	json_object_object_add(o, "thread", json_object_new_boolean(
		e->flags & HW_EF_THREAD));
	if (e->type == HW_EV_EXEC) {
		json_object_object_add(o, "filename", json_guest_string(
			e->filename, strlen(e->filename)));
		json_object_object_add(o, "filename_truncated",
			json_object_new_boolean(e->flags &
						HW_EF_FILENAME_TRUNCATED));
	}
	if (e->type == HW_EV_EXIT)
		json_object_object_add(o, "exit_code",
				       json_object_new_int(e->exit_code));
	return o;
}

static void print_json_line(struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
	      stdout);
	fputc('\n', stdout);
	json_object_put(o);
}

/* Lost events and restarts are said in the stream, where they happened. */
static void print_batch_notes(const struct cli *cli,
			      const struct haywire_event_batch *bt)
{
	struct json_object *o;

	if (bt->restarted) {
		if (cli->json) {
			o = json_object_new_object();
			json_object_object_add(o, "type",
					       json_object_new_string("restarted"));
			json_object_object_add(o, "old_nonce",
					       json_object_new_uint64(bt->old_nonce));
			json_object_object_add(o, "nonce",
					       json_object_new_uint64(bt->nonce));
			print_json_line(o);
		} else {
			printf("restarted: the module was reloaded or the guest rebooted (nonce %016" PRIx64 " -> %016" PRIx64 "); events in between are unknown\n",
			       bt->old_nonce, bt->nonce);
		}
	}
	if (!bt->lost)
		return;
	if (cli->json) {
		o = json_object_new_object();
		json_object_object_add(o, "type", json_object_new_string("lost"));
		json_object_object_add(o, "count",
				       json_object_new_uint64(bt->lost));
		print_json_line(o);
	} else {
		printf("lost %" PRIu64 " events\n", bt->lost);
	}
}

static bool module_away(int rc)
{
	return rc == HAYWIRE_E_GONE || rc == HAYWIRE_E_NO_BEACON;
}

int cmd_events(struct cli *cli, char **argv, struct haywire_error *err)
{
	static struct haywire_event buf[EVENTS_BATCH];
	struct haywire_beacon *b;
	struct haywire_event_cursor cur;
	struct haywire_event_batch bt;
	struct sigaction sa;
	bool said_away = false;
	size_t i;
	int rc = 0;

	(void)argv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	haywire_event_cursor_init(&cur, cli->events_from);
	b = haywire_discover(cli->opts.mem, &cli->beacon_opts, err);
	if (!b)
		return err->code;
	while (!stop_requested) {
		if (!b) {
			b = haywire_discover(cli->opts.mem, &cli->beacon_opts,
					     err);
			if (!b && module_away(err->code)) {
				sleep_ms(REDISCOVER_MS);
				continue;
			}
			if (!b)
				return err->code;
		}
		rc = haywire_read_events(b, &cur, buf, EVENTS_BATCH, &bt, err);
		if (rc && cli->follow && module_away(rc)) {
			if (!said_away)
				fprintf(stderr, "haywire: the module is gone (%s); waiting for it to come back\n",
					err->msg);
			said_away = true;
			fflush(stdout);
			haywire_beacon_free(b);
			b = NULL;
			continue;
		}
		if (rc)
			break;
		said_away = false;
		print_batch_notes(cli, &bt);
		for (i = 0; i < bt.count; i++) {
			if (cli->json)
				print_json_line(json_event(&buf[i]));
			else
				print_event_text(stdout, &buf[i]);
		}
		if (bt.more)
			continue;
		if (!cli->follow)
			break;
		fflush(stdout);
		sleep_ms(FOLLOW_POLL_MS);
	}
	haywire_beacon_free(b);
	return rc;
}
