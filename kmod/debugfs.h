/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The module's statistics inside the guest (docs/debugfs.md): debugfs
 * haywire/stats (text, "name value" per line) and haywire/index (the
 * published index page, as the host sees it).
 */
#ifndef HAYWIRE_DEBUGFS_H
#define HAYWIRE_DEBUGFS_H

/* After the module is up; no error: debugfs is optional (disabled, off). */
void hw_debugfs_start(void);
/* Before anything the files read goes: waits for reads under way. */
void hw_debugfs_stop(void);

#endif /* HAYWIRE_DEBUGFS_H */
