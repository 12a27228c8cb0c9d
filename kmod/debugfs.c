// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module's statistics inside the guest, in debugfs (docs/debugfs.md):
 *
 *   haywire/stats   text, one "name value" per line: the published
 *                   generation, the refresh figures (struct hw_stats), the
 *                   request thread's and the event ring's counters
 *   haywire/index   the index page as published (struct hw_index, 4096
 *                   bytes), the bytes the host reads
 *
 * Both are read-only and have no ioctl or mmap, so that a kernel in
 * integrity lockdown still allows them. Each open takes one view, copied
 * between two refreshes (hw_refresh_view()), so a reader that reads in
 * pieces never mixes two. An open file pins the module (the files' owner);
 * debugfs' proxy makes unload wait for reads under way.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "debugfs.h"
#include "events.h"
#include "haywire_protocol.h"
#include "refresh.h"
#include "request.h"

static struct dentry *hw_debugfs_dir;

static const struct {
	const char *name;
	size_t offset;
} stats_u64[] = {
#define HW_STAT(field) { #field, offsetof(struct hw_stats, field) }
	HW_STAT(refreshes),
	HW_STAT(refresh_ns_total),
	HW_STAT(last_refresh_ns),
	HW_STAT(last_walk_procs_ns),
	HW_STAT(last_walk_vmas_ns),
	HW_STAT(last_cameras_ns),
	HW_STAT(last_publish_ns),
	HW_STAT(last_total_ns),
	HW_STAT(max_refresh_ns),
	HW_STAT(budget_ns),
	HW_STAT(last_procs),
	HW_STAT(last_vmas),
	HW_STAT(string_bytes),
	HW_STAT(path_lookups),
	HW_STAT(mm_busy_total),
	HW_STAT(budget_overruns),
	HW_STAT(last_budget_skipped),
	HW_STAT(last_budget_cut),
	HW_STAT(truncations),
	HW_STAT(last_max_hold_ns),
	HW_STAT(max_hold_ns),
	HW_STAT(grow_events),
	HW_STAT(alloc_failures),
	HW_STAT(stalls),
	HW_STAT(staging_bytes),
#undef HW_STAT
};

static int stats_show(struct seq_file *m, void *unused)
{
	struct hw_request_counts req;
	struct hw_stats st;
	u64 generation;
	size_t i;
	int err;

	err = hw_refresh_view(&st, &generation, NULL);
	if (err)
		return err;
	hw_requests_counts(&req);

	seq_printf(m, "generation %llu\n", generation);
	for (i = 0; i < ARRAY_SIZE(stats_u64); i++)
		seq_printf(m, "%s %llu\n", stats_u64[i].name,
			   *(const u64 *)((const char *)&st + stats_u64[i].offset));
	seq_printf(m, "last_max_hold_pid %d\n", st.last_max_hold_pid);
	seq_printf(m, "last_start_pid %d\n", st.last_start_pid);
	seq_printf(m, "next_start_pid %d\n", st.next_start_pid);
	seq_printf(m, "request_polls %llu\n", req.polls);
	seq_printf(m, "requests_answered %llu\n", req.answered);
	seq_printf(m, "requests_failed %llu\n", req.failed);
	seq_printf(m, "events_written %llu\n", hw_events_written());
	seq_printf(m, "events_overwritten %llu\n", hw_events_overwritten());
	return 0;
}

static int stats_open(struct inode *inode, struct file *file)
{
	return single_open(file, stats_show, NULL);
}

static const struct file_operations stats_fops = {
	.owner = THIS_MODULE,
	.open = stats_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* One copy of the index per open file, taken at open. */
static int index_open(struct inode *inode, struct file *file)
{
	struct hw_index *index;
	struct hw_stats st;
	u64 generation;
	int err;

	index = kmalloc(sizeof(*index), GFP_KERNEL);
	if (!index)
		return -ENOMEM;
	err = hw_refresh_view(&st, &generation, index);
	if (err) {
		kfree_sensitive(index);
		return err;
	}
	file->private_data = index;
	return 0;
}

static ssize_t index_read(struct file *file, char __user *buf, size_t len,
			  loff_t *pos)
{
	return simple_read_from_buffer(buf, len, pos, file->private_data,
				       sizeof(struct hw_index));
}

static int index_release(struct inode *inode, struct file *file)
{
	/*
	 * Wiped: a stale copy of the index left in freed memory looks like
	 * an index to the host's discovery (until the page is reused).
	 */
	kfree_sensitive(file->private_data);
	return 0;
}

static const struct file_operations index_fops = {
	.owner = THIS_MODULE,
	.open = index_open,
	.read = index_read,
	.llseek = default_llseek,
	.release = index_release,
};

void hw_debugfs_start(void)
{
	/* debugfs' convention: its errors are not checked, files are optional */
	hw_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("stats", 0400, hw_debugfs_dir, NULL, &stats_fops);
	debugfs_create_file("index", 0400, hw_debugfs_dir, NULL, &index_fops);
}

void hw_debugfs_stop(void)
{
	/* Waits for reads under way; later calls on open files get -EIO. */
	debugfs_remove_recursive(hw_debugfs_dir);
	hw_debugfs_dir = NULL;
}
