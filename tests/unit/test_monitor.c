// SPDX-License-Identifier: MIT
/*
 * Protocol 1.3 monitoring: the process fields, the guest-wide and per-CPU
 * sections, and the event ring reader (lost counts, torn and overwritten
 * records, a new nonce) over fixture images.
 */
#include "check.h"

/* Write bytes at a logical offset of the fixture's beacon. */
static void poke(struct image *im, uint64_t logical, const void *buf,
		 size_t len)
{
	uint64_t e = logical / im->lay.extent_size;
	uint64_t at = im->lay.extent_file[e] + logical % im->lay.extent_size;

	CHECK(pwrite(im->fd, buf, len, (off_t)at) == (ssize_t)len);
}

static uint64_t event_at(const struct image *im, unsigned int slots,
			 uint64_t n)
{
	return im->lay.events_off + sizeof(struct hw_event_ring) +
	       ((n - 1) % slots) * sizeof(struct hw_event);
}

static void test_proc_fields(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	const struct haywire_proc *p;

	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_OK, &err);
	p = &procs->procs[1];
	CHECK(p->monitor);
	CHECK_U64(p->utime_ns, 2000000);
	CHECK_U64(p->stime_ns, 1000000);
	CHECK_U64(p->min_flt, 101);
	CHECK_U64(p->maj_flt, 1);
	CHECK(p->nice == -19);
	CHECK(p->last_cpu == 1);
	CHECK_STR(p->cgroup, "/system.slice/fixture.service");
	CHECK_U64(p->pidns_inum, 4026531836ULL);
	CHECK_STR(procs->procs[0].cgroup, "/");
	/* %CPU: 3 ms over (100 s - start) of boot time */
	CHECK(haywire_proc_cpu_percent(p, &procs->info) > 0.0);
	haywire_procs_free(procs);
	haywire_beacon_free(b);
	close_image(&im);
}

static void test_proc_field_corrupt(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_procs *procs;
	int32_t nice = 40;
	struct hw_str bad = { 1u << 30, 5 };

	fixture_defaults(&f);
	open_image(&im, &f);
	poke(&im, im.lay.procs_off + offsetof(struct hw_proc, nice), &nice,
	     sizeof(nice));
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "nice 40");
	nice = 0;
	poke(&im, im.lay.procs_off + offsetof(struct hw_proc, nice), &nice,
	     sizeof(nice));
	poke(&im, im.lay.procs_off + offsetof(struct hw_proc, cgroup), &bad,
	     sizeof(bad));
	CHECK_RC(haywire_read_procs(b, &procs, &err), HAYWIRE_E_CORRUPT, &err);
	CHECK_MSG(&err, "outside the");
	haywire_beacon_free(b);
	close_image(&im);
}

static void test_guest(void)
{
	struct fixture f;
	struct image im;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct haywire_info info;
	struct haywire_guest_stat *gs;
	uint64_t big = 600000;

	fixture_defaults(&f);
	f.guest = true;
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CHECK(info.have_guest);
	CHECK_U64(info.guest.mem_total, 500000);
	CHECK(info.guest.load[0] == 1.25);
	CHECK(info.guest.flags & HW_GF_NO_SWAP_TOTAL);
	CHECK_U64(info.guest.cpu_total.user, 3000000000ULL);
	CHECK_RC(haywire_read_guest(b, &gs, &err), HAYWIRE_OK, &err);
	CHECK_U64(gs->cpu_count, 2);
	CHECK_U64(gs->cpus[1].user, 2000000000ULL);
	CHECK(!gs->cpus_truncated);
	haywire_guest_stat_free(gs);
	/* free memory above the total */
	poke(&im, im.lay.guest_off + offsetof(struct hw_guest, mem_free), &big,
	     sizeof(big));
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_E_CORRUPT, &err);
	haywire_beacon_free(b);
	close_image(&im);

	/* no guest section: read_guest says so */
	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK_RC(haywire_read_guest(b, &gs, &err), HAYWIRE_E_NOT_FOUND, &err);
	CHECK_RC(haywire_read_info(b, &info, &err), HAYWIRE_OK, &err);
	CHECK(!info.have_guest);
	haywire_beacon_free(b);
	close_image(&im);
}

/* One read from `from`; the batch and the events in ev. */
static int read_from(struct haywire_beacon *b, uint64_t from,
		     struct haywire_event *ev, size_t max,
		     struct haywire_event_batch *bt, struct haywire_error *err)
{
	struct haywire_event_cursor cur;

	haywire_event_cursor_init(&cur, from);
	return haywire_read_events(b, &cur, ev, max, bt, err);
}

static void test_events(void)
{
	struct haywire_event ev[64];
	struct haywire_event_batch bt;
	struct haywire_event_cursor cur;
	struct haywire_error err;
	struct haywire_beacon *b;
	struct fixture f;
	struct image im;
	struct hw_event raw;
	uint64_t zero = 0, seven = 7;
	size_t i;

	fixture_defaults(&f);
	f.event_slots = 8;
	f.events_written = 20;
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK(b);

	/* from 1: 12 overwritten, then 13 .. 20 */
	CHECK_RC(read_from(b, 1, ev, 64, &bt, &err), HAYWIRE_OK, &err);
	CHECK_U64(bt.lost, 12);
	CHECK_U64(bt.count, 8);
	CHECK_U64(ev[0].seq, 13);
	CHECK_U64(ev[7].seq, 20);
	CHECK_U64(bt.head, 20);
	CHECK_U64(bt.overwritten, 12);
	CHECK(!bt.more && !bt.restarted);
	CHECK_STR(haywire_event_type_name(ev[1].type), "exec");
	CHECK_STR(ev[1].filename, "/bin/true");

	/* oldest: nothing lost; small buffer: more */
	CHECK_RC(read_from(b, HAYWIRE_EVENTS_OLDEST, ev, 3, &bt, &err),
		 HAYWIRE_OK, &err);
	CHECK_U64(bt.lost, 0);
	CHECK_U64(bt.count, 3);
	CHECK(bt.more);

	/* now: nothing yet, the cursor after the last */
	haywire_event_cursor_init(&cur, HAYWIRE_EVENTS_NOW);
	CHECK_RC(haywire_read_events(b, &cur, ev, 64, &bt, &err), HAYWIRE_OK,
		 &err);
	CHECK_U64(bt.count, 0);
	CHECK_U64(cur.next, 21);

	/* the future is refused */
	CHECK_RC(read_from(b, 22, ev, 64, &bt, &err), HAYWIRE_E_INVALID, &err);

	/* a record being rewritten (seq 0) is lost, counted, not returned */
	poke(&im, event_at(&im, 8, 15), &zero, sizeof(zero));
	CHECK_RC(read_from(b, 13, ev, 64, &bt, &err), HAYWIRE_OK, &err);
	CHECK_U64(bt.lost, 1);
	CHECK_U64(bt.count, 7);
	for (i = 0; i < bt.count; i++)
		CHECK(ev[i].seq != 15);
	/* an older number where a newer must be: corrupt */
	poke(&im, event_at(&im, 8, 15), &seven, sizeof(seven));
	CHECK_RC(read_from(b, 13, ev, 64, &bt, &err), HAYWIRE_E_CORRUPT, &err);
	/* a bad record: unterminated comm */
	fixture_event(15, &raw);
	memset(raw.comm, 'x', sizeof(raw.comm));
	poke(&im, event_at(&im, 8, 15), &raw, sizeof(raw));
	CHECK_RC(read_from(b, 13, ev, 64, &bt, &err), HAYWIRE_E_CORRUPT, &err);
	fixture_event(15, &raw);
	raw.filename_len = 3;
	poke(&im, event_at(&im, 8, 15), &raw, sizeof(raw));
	CHECK_RC(read_from(b, 13, ev, 64, &bt, &err), HAYWIRE_E_CORRUPT, &err);
	fixture_event(15, &raw);
	poke(&im, event_at(&im, 8, 15), &raw, sizeof(raw));

	/* a cursor from another beacon (reload, reboot): restarted, oldest */
	haywire_event_cursor_init(&cur, HAYWIRE_EVENTS_NOW);
	cur.nonce = 12345;
	cur.next = 3;
	CHECK_RC(haywire_read_events(b, &cur, ev, 64, &bt, &err), HAYWIRE_OK,
		 &err);
	CHECK(bt.restarted);
	CHECK_U64(bt.old_nonce, 12345);
	CHECK_U64(bt.count, 8);
	CHECK_U64(bt.lost, 0);
	haywire_beacon_free(b);
	close_image(&im);

	/* no ring: said */
	fixture_defaults(&f);
	open_image(&im, &f);
	b = haywire_discover(im.mem, NULL, &err);
	CHECK_RC(read_from(b, 1, ev, 64, &bt, &err), HAYWIRE_E_NOT_FOUND, &err);
	CHECK_MSG(&err, "events");
	haywire_beacon_free(b);
	close_image(&im);
}

int main(void)
{
	RUN(test_proc_fields);
	RUN(test_proc_field_corrupt);
	RUN(test_guest);
	RUN(test_events);
	return check_done();
}
