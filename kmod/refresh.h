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
u64 published_generation(void);

/*
 * Ask the refresh thread for a refresh; returns a ticket for
 * refresh_result(), which is -EAGAIN until a refresh that began after the
 * ask has ended, then 0 with *generation (the latest published) or the
 * error that kept the latest refresh from being published.
 */
u64 refresh_ask(void);
int refresh_result(u64 ticket, u64 *generation);

/* Module parameters the request thread follows. */
unsigned int poll_max_ms(void);
bool hw_read_allowed(void);
unsigned int refresh_budget_ms(void);

#endif /* HAYWIRE_REFRESH_H */
