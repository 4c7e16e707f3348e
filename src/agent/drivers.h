/*
 * drivers.h - which of Incus's local storage drivers this host's kernel
 * can run: the agent's answer to "driver: auto".
 *
 * Incus lists a driver as supported when its tools are installed; whether
 * the kernel has what the driver needs shows only when a pool is created
 * (an lvm thin pool on a kernel without the dm-thin-pool target fails after
 * half a minute). The agent looks before anyone creates:
 *
 *   lvm    device-mapper (a "device-mapper" line in <proc>/misc, or the
 *          dm_mod module) and its thin-pool target (dm_thin_pool), since
 *          Incus makes lvm pools thin unless told otherwise
 *   zfs    the zfs module
 *   btrfs  "btrfs" in <proc>/filesystems, or the btrfs module
 *   dir    always
 *
 * A module counts when it is loaded (<sys>/module/NAME exists), built in
 * (<modules>/<release>/modules.builtin) or loadable (modules.dep), release
 * being <proc>/sys/kernel/osrelease. '-' and '_' in module names are the
 * same, as for modprobe. A file that cannot be read counts as saying no.
 *
 * The result is the "storage_drivers" list of a report's host_stats
 * (report.h), in the order driver: auto tries them:
 *   [{"name": "lvm", "usable": false,
 *     "reason": "the kernel has no device-mapper driver"},
 *    {"name": "zfs", "usable": false, "reason": "the kernel has no zfs module"},
 *    {"name": "btrfs", "usable": true}, {"name": "dir", "usable": true}]
 */
#ifndef BERTH_AGENT_DRIVERS_H
#define BERTH_AGENT_DRIVERS_H

#include <jansson.h>

struct drivers_roots {
	const char *proc;	/* NULL: "/proc" */
	const char *sys;	/* NULL: "/sys" */
	const char *modules;	/* NULL: "/lib/modules" */
};

/*
 * 1 when module (e.g. "dm-thin-pool") is listed in text, the contents of a
 * modules.builtin or modules.dep file: a line whose first path (up to ':'
 * or the end) has that base name before ".ko". Pure.
 */
int drivers_module_listed(const char *text, const char *module);

/* The "storage_drivers" list for the host behind roots (may be NULL). New
 * reference; never NULL. */
json_t *drivers_detect(const struct drivers_roots *roots);

#endif
