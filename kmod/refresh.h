/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the refresh (main.c) offers the other parts of the module: the
 * request thread asks for refreshes and reads module parameters; cameras
 * need the published generation.
 */
#ifndef HAYWIRE_REFRESH_H
#define HAYWIRE_REFRESH_H

#include <linux/types.h>

/* Generation of the published snapshot (0 before the first). */
u64 hw_published_generation(void);

/*
 * Ask the refresh thread for a refresh; returns a ticket for
 * hw_refresh_result(), which is -EAGAIN until a refresh that began after the
 * ask has ended, then 0 with *generation (the latest published) or the
 * error that kept the latest refresh from being published.
 */
u64 hw_refresh_ask(void);
int hw_refresh_result(u64 ticket, u64 *generation);

/*
 * For debugfs.c: the module's figures, the published generation and (if
 * index is not NULL) a copy of the index page, all from one moment between
 * two refreshes. 0, or -EINTR when a fatal signal came while waiting.
 */
struct hw_index;
struct hw_stats;
int hw_refresh_view(struct hw_stats *stats, u64 *generation,
		    struct hw_index *index);

/* Module parameters the request thread follows. */
unsigned int hw_poll_max_ms(void);
bool hw_read_allowed(void);
unsigned int hw_refresh_budget_ms(void);

#endif /* HAYWIRE_REFRESH_H */
