// SPDX-License-Identifier: MIT
/*
 * haywire top: a live view of one guest with the habits of procps's top.
 *
 * Every delay (default: the module's snapshot interval) the guest is read
 * (monitor.c) and the screen built as text lines: the header (uptime,
 * load, tasks by state, CPU and memory lines), one status line, then the
 * process table sorted by the chosen key. %CPU is the difference of two
 * snapshots' CPU times over the difference of their publication times
 * (guest CLOCK_MONOTONIC), so it follows the snapshots, not the host's
 * reads. A new nonce (module reloaded, guest rebooted) starts %CPU over
 * and says so. The same lines go to stdout in batch mode (-b) and to an
 * ncurses screen otherwise. Keys: q quits; P, M, N, T sort by %CPU,
 * resident memory, PID and CPU time. No key signals a guest process: the
 * host cannot.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "cli.h"
#include "monitor.h"
#include "output.h"

enum sort_key { SORT_CPU = 'P', SORT_MEM = 'M', SORT_PID = 'N',
		SORT_TIME = 'T' };

#define NOTICE_SECONDS	10

struct top {
	struct guest g;
	struct guest_view v;		/* the last read */
	bool have_view;
	enum sort_key sort;
	char notice[HAYWIRE_MSG_MAX];	/* restart, shown for a while */
	uint64_t notice_until_ns;
	size_t *order;			/* row order into v.procs */
};

static const struct top *sort_ctx;	/* qsort has no argument */

static double row_cpu(const struct top *t, size_t i)
{
	return t->v.cpu_pct ? t->v.cpu_pct[i] : 0.0;
}

static int compare_rows(const void *a, const void *b)
{
	const struct top *t = sort_ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct haywire_proc *p = &t->v.procs->procs[i];
	const struct haywire_proc *q = &t->v.procs->procs[j];
	double x = 0, y = 0;

	switch (t->sort) {
	case SORT_CPU:
		x = row_cpu(t, i);
		y = row_cpu(t, j);
		break;
	case SORT_MEM:
		x = (double)p->rss_kb;
		y = (double)q->rss_kb;
		break;
	case SORT_TIME:
		x = (double)proc_cpu_ns(p);
		y = (double)proc_cpu_ns(q);
		break;
	case SORT_PID:
		x = p->pid;
		y = q->pid;
		break;
	}
	if (x != y)
		return x < y ? 1 : -1;	/* largest first, as top */
	return p->pid < q->pid ? -1 : p->pid > q->pid;
}

static void sort_rows(struct top *t)
{
	size_t i, n = t->v.procs->count;

	free(t->order);
	t->order = calloc(n ? n : 1, sizeof(*t->order));
	if (!t->order)
		return;
	for (i = 0; i < n; i++)
		t->order[i] = i;
	sort_ctx = t;
	qsort(t->order, n, sizeof(*t->order), compare_rows);
}

static void format_uptime(char *buf, size_t n, uint64_t ns)
{
	uint64_t s = ns / 1000000000ULL, days = s / 86400;

	if (days)
		snprintf(buf, n, "%" PRIu64 " day%s, %2" PRIu64 ":%02" PRIu64,
			 days, days == 1 ? "" : "s", s % 86400 / 3600,
			 s % 3600 / 60);
	else
		snprintf(buf, n, "%2" PRIu64 ":%02" PRIu64, s / 3600,
			 s % 3600 / 60);
}

static void header_lines(FILE *out, const struct top *t)
{
	const struct haywire_info *info = &t->v.procs->info;
	const struct haywire_guest *gw = &info->guest;
	unsigned int running = 0, sleeping = 0, stopped = 0, zombie = 0;
	char now[16], up[48];
	time_t wall = time(NULL);
	struct tm tm;
	size_t i;

	localtime_r(&wall, &tm);
	strftime(now, sizeof(now), "%H:%M:%S", &tm);
	format_uptime(up, sizeof(up), info->have_guest ? gw->uptime_ns :
		      info->publish_boot_ns);
	fprintf(out, "haywire top - %s up %s,  ", now, up);
	if (info->have_guest)
		fprintf(out, "load average: %.2f, %.2f, %.2f", gw->load[0],
			gw->load[1], gw->load[2]);
	else
		fprintf(out, "load average: -");
	fprintf(out, "  (%s, generation %" PRIu64 ")\n", t->g.name,
		info->generation);
	for (i = 0; i < t->v.procs->count; i++) {
		switch (t->v.procs->procs[i].state) {
		case 'R': running++; break;
		case 'T': case 't': stopped++; break;
		case 'Z': zombie++; break;
		default: sleeping++; break;
		}
	}
	fprintf(out, "Tasks: %3zu total, %3u running, %3u sleeping, %3u stopped, %3u zombie\n",
		t->v.procs->count, running, sleeping, stopped, zombie);
	if (t->v.have_cpu_split) {
		const double *c = t->v.cpu_split;

		fprintf(out, "%%Cpu(s): %4.1f us, %4.1f sy, %4.1f ni, %5.1f id, %4.1f wa, %4.1f hi, %4.1f si, %4.1f st\n",
			c[CPU_USER], c[CPU_SYSTEM], c[CPU_NICE], c[CPU_IDLE],
			c[CPU_IOWAIT], c[CPU_IRQ], c[CPU_SOFTIRQ],
			c[CPU_STEAL]);
	} else {
		fprintf(out, "%%Cpu(s): %s\n", info->have_guest ?
			"- (after the next snapshot)" :
			"- (the module publishes no CPU times: protocol < 1.3)");
	}
	if (info->have_guest) {
		uint64_t cache = gw->buffers + gw->cached + gw->sreclaimable;
		uint64_t used = gw->mem_total > gw->mem_free + cache ?
				gw->mem_total - gw->mem_free - cache : 0;

		fprintf(out, "MiB Mem : %8.1f total, %8.1f free, %8.1f used, %8.1f buff/cache\n",
			gw->mem_total / 1024.0, gw->mem_free / 1024.0,
			used / 1024.0, cache / 1024.0);
		fprintf(out, "MiB Swap: %8.1f total, %8.1f free, %8.1f used. %8.1f avail Mem\n",
			gw->swap_total / 1024.0, gw->swap_free / 1024.0,
			(gw->swap_total - (gw->swap_free < gw->swap_total ?
					   gw->swap_free : gw->swap_total)) / 1024.0,
			gw->mem_available / 1024.0);
	} else {
		fprintf(out, "MiB Mem : -\nMiB Swap: -\n");
	}
}

static void status_line(FILE *out, const struct top *t)
{
	if (*t->notice && monotonic_ns() < t->notice_until_ns)
		fprintf(out, "%s\n", t->notice);
	else if (t->v.reason != GUEST_OK)
		fprintf(out, "%s: %s\n", guest_reason_name(t->v.reason),
			t->v.msg);
	else if (t->v.info.truncated || t->v.procs->info.truncated)
		fprintf(out, "truncated: %" PRIu64 " of %" PRIu64 " processes in the snapshot\n",
			t->v.procs->info.procs, t->v.procs->info.procs_total);
	else
		fputc('\n', out);
}

static void process_row(FILE *out, const struct top *t, size_t i)
{
	const struct haywire_proc *p = &t->v.procs->procs[i];
	const struct haywire_info *info = &t->v.procs->info;
	char comm[GUEST_TEXT_MAX(HW_COMM_LEN)], pr[16], ni[16], mem[16];
	uint64_t cs = proc_cpu_ns(p) / 10000000;	/* hundredths */

	format_guest(comm, sizeof(comm), p->comm,
		     strnlen(p->comm, HW_COMM_LEN));
	if (p->monitor) {
		snprintf(pr, sizeof(pr), "%lld", 20LL + p->nice);
		snprintf(ni, sizeof(ni), "%d", p->nice);
	} else {
		snprintf(pr, sizeof(pr), "-");
		snprintf(ni, sizeof(ni), "-");
	}
	if (info->have_guest && info->guest.mem_total)
		snprintf(mem, sizeof(mem), "%5.1f", 100.0 *
			 (double)p->rss_kb / (double)info->guest.mem_total);
	else
		snprintf(mem, sizeof(mem), "    -");
	fprintf(out, "%7d %-8u %3s %3s %7" PRIu64 " %6" PRIu64 " %c %5.1f %s %3" PRIu64
		":%02" PRIu64 ".%02" PRIu64 " %s%s%s\n", p->pid, p->uid, pr, ni,
		p->vsize_kb, p->rss_kb, p->state, row_cpu(t, i), mem,
		cs / 6000, cs / 100 % 60, cs % 100,
		p->flags & HW_PF_KTHREAD ? "[" : "", comm,
		p->flags & HW_PF_KTHREAD ? "]" : "");
}

/* The whole screen as text; rows: at most that many process rows. */
static void screen(FILE *out, const struct top *t, size_t rows)
{
	size_t i;

	if (!t->have_view || !t->v.has_data) {
		fprintf(out, "haywire top - %s: no data\n", t->g.name);
		if (*t->notice && monotonic_ns() < t->notice_until_ns)
			fprintf(out, "%s\n", t->notice);
		if (t->have_view)
			fprintf(out, "%s: %s\n", guest_reason_name(t->v.reason),
				t->v.msg);
		return;
	}
	header_lines(out, t);
	status_line(out, t);
	fprintf(out, "%7s %-8s %3s %3s %7s %6s %c %5s %5s %9s %s\n", "PID",
		"USER", "PR", "NI", "VIRT", "RES", 'S', "%CPU", "%MEM", "TIME+",
		"COMMAND");
	for (i = 0; i < t->v.procs->count && i < rows && t->order; i++)
		process_row(out, t, t->order[i]);
}

static void read_once(struct top *t)
{
	if (t->have_view)
		guest_view_free(&t->v);
	guest_read(&t->g, &t->v);
	t->have_view = true;
	if (t->v.restarted) {
		snprintf(t->notice, sizeof(t->notice),
			 "restart: the beacon's nonce changed (%016" PRIx64 " -> %016" PRIx64
			 "): the module was reloaded or the guest rebooted; %%CPU starts over",
			 t->v.old_nonce, t->v.info.nonce);
		t->notice_until_ns = monotonic_ns() +
				     NOTICE_SECONDS * 1000000000ULL;
	}
	if (t->v.has_data)
		sort_rows(t);
}

static unsigned int delay_ms(const struct top *t, const struct cli *cli)
{
	if (cli->top.delay_ms)
		return cli->top.delay_ms;
	if (t->have_view && t->v.has_data && t->v.info.interval_ms >= 100)
		return t->v.info.interval_ms;
	return 1000;
}

static int run_batch(struct top *t, struct cli *cli)
{
	unsigned int i;

	for (i = 0; !cli->top.iterations || i < cli->top.iterations; i++) {
		if (i)
			usleep(delay_ms(t, cli) * 1000U);
		read_once(t);
		screen(stdout, t, SIZE_MAX);
		/* Shown once in batch output: the next block starts over. */
		t->notice_until_ns = 0;
		fputc('\n', stdout);
		if (fflush(stdout) == EOF)
			return EXIT_ERROR;
	}
	return t->v.has_data ? 0 : EXIT_NO_BEACON;
}

/* The text screen onto the terminal, clipped to it. */
static void draw(const struct top *t)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int y = 0;

	if (!f)
		return;
	screen(f, t, LINES > 7 ? (size_t)(LINES - 7) : 0);
	fclose(f);
	erase();
	for (line = strtok_r(text, "\n", &save); line && y < LINES;
	     line = strtok_r(NULL, "\n", &save), y++) {
		if (y == 6)	/* the column header, as top shows it */
			attron(A_REVERSE);
		mvaddnstr(y, 0, line, COLS);
		if (y == 6)
			attroff(A_REVERSE);
	}
	refresh();
	free(text);
}

static int run_screen(struct top *t, struct cli *cli)
{
	unsigned int i = 0;
	bool quit = false;

	if (!initscr())
		return EXIT_ERROR;
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	while (!quit && (!cli->top.iterations || i++ < cli->top.iterations)) {
		uint64_t until;

		read_once(t);
		draw(t);
		until = monotonic_ns() + delay_ms(t, cli) * 1000000ULL;
		while (!quit) {
			uint64_t now = monotonic_ns();
			int ch;

			if (now >= until)
				break;
			timeout((int)((until - now) / 1000000) + 1);
			ch = getch();
			if (ch == 'q')
				quit = true;
			else if (ch == 'P' || ch == 'M' || ch == 'N' ||
				 ch == 'T') {
				t->sort = (enum sort_key)ch;
				if (t->have_view && t->v.has_data)
					sort_rows(t);
				draw(t);
			} else if (ch == KEY_RESIZE) {
				draw(t);
			}
		}
	}
	endwin();
	return 0;
}

int cmd_top(struct cli *cli, char **argv, struct haywire_error *err)
{
	struct top *t = calloc(1, sizeof(*t));
	int rc;

	(void)argv;
	if (!t) {
		err->code = HAYWIRE_E_NOMEM;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return err->code;
	}
	guest_init(&t->g, cli->opts.mem_path, cli->opts.mem_path);
	t->g.opts.pin_index = cli->beacon_opts.pin_index;
	t->g.opts.index_gpa = cli->beacon_opts.index_gpa;
	t->sort = SORT_CPU;
	rc = cli->top.batch ? run_batch(t, cli) : run_screen(t, cli);
	if (t->have_view)
		guest_view_free(&t->v);
	guest_close(&t->g);
	free(t->order);
	free(t);
	cli->status = rc;
	return 0;
}
