/*
 * drivers.c - the storage drivers this host's kernel can run (drivers.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/drivers.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_FILE (8u << 20)	/* modules.dep of a distribution kernel: ~1 MiB */

static const char *
root_or(const char *r, const char *dflt)
{
	return r && *r ? r : dflt;
}

/* Module names compare with '-' and '_' the same. */
static int
same_module(const char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return 0;
	for (i = 0; i < alen; i++) {
		char x = a[i] == '-' ? '_' : a[i], y = b[i] == '-' ? '_' : b[i];

		if (x != y)
			return 0;
	}
	return 1;
}

int
drivers_module_listed(const char *text, const char *module)
{
	const char *line = text;

	while (line && *line) {
		const char *end = line + strcspn(line, ":\n \t");
		const char *base = line, *p, *ko = NULL;

		for (p = line; p < end; p++)
			if (*p == '/')
				base = p + 1;
		for (p = base; p + 3 <= end; p++)
			if (!strncmp(p, ".ko", 3) && (p + 3 == end || p[3] == '.')) {
				ko = p;
				break;
			}
		if (ko && same_module(base, (size_t)(ko - base), module))
			return 1;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

/* The text of root/rel, or NULL when it cannot be read. */
static char *
read_text(const char *root, const char *rel)
{
	char *path = xasprintf("%s/%s", root, rel), *text = NULL;
	size_t len;
	struct berr err;

	if (fs_read_file(path, MAX_FILE, &text, &len, &err) < 0)
		text = NULL;
	free(path);
	return text;
}

/* 1 when text has a line whose words include word. */
static int
has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p = text;

	while (p && (p = strstr(p, word))) {
		int before = p == text || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n';
		int after = p[n] == '\0' || p[n] == ' ' || p[n] == '\t' || p[n] == '\n';

		if (before && after)
			return 1;
		p += n;
	}
	return 0;
}

struct host {
	const char *proc, *sys;
	char *builtin, *dep;	/* NULL when unreadable */
};

/* Loaded, built in or loadable. */
static int
has_module(const struct host *h, const char *module)
{
	char *path, *name = xstrdup(module), *p;
	struct stat st;
	int loaded;

	for (p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	path = xasprintf("%s/module/%s", h->sys, name);
	loaded = stat(path, &st) == 0;
	free(path);
	free(name);
	return loaded || (h->builtin && drivers_module_listed(h->builtin, module)) ||
	       (h->dep && drivers_module_listed(h->dep, module));
}

static json_t *
entry(const char *name, const char *reason)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "usable", json_boolean(!reason));
	if (reason)
		json_object_set_new(o, "reason", json_string(reason));
	return o;
}

json_t *
drivers_detect(const struct drivers_roots *roots)
{
	struct host h;
	const char *modules = root_or(roots ? roots->modules : NULL, "/lib/modules");
	char *release, *misc, *fs;
	json_t *out = json_array();
	const char *why;

	h.proc = root_or(roots ? roots->proc : NULL, "/proc");
	h.sys = root_or(roots ? roots->sys : NULL, "/sys");
	h.builtin = h.dep = NULL;
	release = read_text(h.proc, "sys/kernel/osrelease");
	if (release) {
		char *dir;

		release[strcspn(release, "\n")] = '\0';
		if (*release && !strchr(release, '/') && strcmp(release, "..")) {
			dir = xasprintf("%s/%s", modules, release);
			h.builtin = read_text(dir, "modules.builtin");
			h.dep = read_text(dir, "modules.dep");
			free(dir);
		}
	}
	misc = read_text(h.proc, "misc");
	fs = read_text(h.proc, "filesystems");

	if (!(misc && has_word(misc, "device-mapper")) && !has_module(&h, "dm-mod"))
		why = "the kernel has no device-mapper driver";
	else if (!has_module(&h, "dm-thin-pool"))
		why = "the kernel has no dm-thin-pool target (lvm thin pools fail)";
	else
		why = NULL;
	json_array_append_new(out, entry("lvm", why));
	json_array_append_new(out, entry("zfs", has_module(&h, "zfs") ? NULL
					 : "the kernel has no zfs module"));
	json_array_append_new(out, entry("btrfs", (fs && has_word(fs, "btrfs")) ||
					 has_module(&h, "btrfs") ? NULL
					 : "the kernel has no btrfs file system"));
	json_array_append_new(out, entry("dir", NULL));

	free(release);
	free(misc);
	free(fs);
	free(h.builtin);
	free(h.dep);
	return out;
}
