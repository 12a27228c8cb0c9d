// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lifecycle events of haywire-bpf: the fork, exec and exit tracepoints
 * (haywire.bpf.c) hand hw_event records through a BPF ring buffer; this
 * thread numbers them and writes them into the beacon's event ring with
 * the module's ordering (kmod/events.c, docs/protocol.md "Lifecycle
 * events"). Records the BPF ring buffer had no room for are counted there
 * and their numbers skipped here, so that the host sees them as lost.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "hwb.skel.h"
#include "loader.h"

static struct ring_buffer *rb;
static struct hwb_bpf *bpf;
static struct hw_event_ring *ring;
static struct hw_event *records;
static uint64_t next_seq, dropped_seen;
static int64_t real_minus_boot;
static pthread_t poller;
static bool polling;

static void write_event(const struct hw_event *ev)
{
	struct hw_event *slot;
	uint64_t seq = ++next_seq;

	slot = &records[(seq - 1) % beacon.events_slots];
	WRITE_ONCE(ring->head, seq);
	WRITE_ONCE(slot->seq, 0);
	/* "being written" before the new bytes: pairs with the host's read
	 * barrier before its second look at the slot's seq */
	smp_wmb();
	memcpy((unsigned char *)slot + sizeof(slot->seq),
	       (const unsigned char *)ev + sizeof(ev->seq),
	       sizeof(*ev) - sizeof(ev->seq));
	/* the bytes before the number: pairs with the host's acquire load */
	smp_wmb();
	WRITE_ONCE(slot->seq, seq);
	if (seq > beacon.events_slots)
		WRITE_ONCE(ring->overwritten, seq - beacon.events_slots);
	/* the record before head_done: pairs with the host's acquire load */
	smp_wmb();
	WRITE_ONCE(ring->head_done, seq);
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct hw_event ev;
	uint64_t dropped = __atomic_load_n(&bpf->bss->events_dropped,
					   __ATOMIC_RELAXED);

	(void)ctx;
	if (len < sizeof(ev))
		return 0;
	memcpy(&ev, data, sizeof(ev));
	ev.seq = 0;
	ev.real_ns = (uint64_t)((int64_t)ev.boot_ns + real_minus_boot);
	ev.comm[HW_COMM_LEN - 1] = '\0';
	ev.filename[HW_EVENT_FILENAME_LEN - 1] = '\0';
	if (dropped > dropped_seen) {	/* lost: numbers nobody will write */
		next_seq += dropped - dropped_seen;
		dropped_seen = dropped;
	}
	write_event(&ev);
	return 0;
}

static void *poll_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "hwb-events");
	while (!atomic_load(&stopping)) {
		real_minus_boot = (int64_t)(now_ns(CLOCK_REALTIME) -
					    now_ns(CLOCK_BOOTTIME));
		if (ring_buffer__poll(rb, 100) < 0 && errno != EINTR)
			break;
	}
	return NULL;
}

int events_start(struct hwb_bpf *skel)
{
	bpf = skel;
	ring = (struct hw_event_ring *)(beacon.base + FIXED_SIZE);
	records = (struct hw_event *)(ring + 1);
	ring->slots = (uint32_t)beacon.events_slots;
	ring->record_size = sizeof(struct hw_event);
	ring->boot_ns = now_ns(CLOCK_BOOTTIME);
	real_minus_boot = (int64_t)(now_ns(CLOCK_REALTIME) -
				    now_ns(CLOCK_BOOTTIME));
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL,
			      NULL);
	if (!rb) {
		say("cannot open the events ring buffer: %s", strerror(errno));
		return -1;
	}
	if (!bpf_program__attach(skel->progs.hw_fork) ||
	    !bpf_program__attach(skel->progs.hw_exec) ||
	    !bpf_program__attach(skel->progs.hw_exit)) {
		say("cannot attach the fork, exec and exit tracepoints: %s",
		    strerror(errno));
		return -1;
	}
	if (pthread_create(&poller, NULL, poll_thread, NULL)) {
		say("cannot start the events thread");
		return -1;
	}
	polling = true;
	return 0;
}

void events_stop(void)
{
	if (polling)
		pthread_join(poller, NULL);
	polling = false;
	ring_buffer__free(rb);
	rb = NULL;
}
