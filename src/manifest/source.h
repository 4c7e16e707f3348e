/*
 * source.h - the manifest files of one commit (or of the work tree).
 *
 * Reads every regular blob named *.yaml or *.yml under opts->path in the
 * tree of opts->ref of the repository opts->repo through libgit2, without a
 * checkout. ref may be a branch, a tag (annotated tags are peeled), a full
 * or abbreviated commit id, or any revspec libgit2 understands; NULL means
 * HEAD. With opts->worktree the files are read from the work tree of the
 * repository instead (untracked files included, .git and ignored files
 * left out), and commit is "worktree".
 *
 * A repo that is a URL (file://, https://, ssh://, or scp-like user@host:path)
 * is fetched into a bare cache under <state_dir>/cache/git/<hash of the URL>
 * and read from there; the fetched commit id is in files->commit.
 *
 * Symbolic links and submodules (gitlinks) anywhere under path are never
 * followed: each is reported in d as an error naming it (a link may point
 * at manifests outside the commit; a submodule is another repository).
 * With worktree, repo may also be a plain directory that is not a git
 * repository. Files larger than
 * YAML_MAX_FILE are reported and skipped. More than SOURCE_MAX_FILES files
 * is an error.
 *
 * Files come back sorted by path (bytewise), paths relative to the repository
 * root, '/'-separated.
 */
#ifndef BERTH_MANIFEST_SOURCE_H
#define BERTH_MANIFEST_SOURCE_H

#include <stddef.h>

#include "util/diag.h"
#include "util/err.h"

#define SOURCE_MAX_FILES 50000

struct source_opts {
	const char *repo;	/* path or URL; NULL means "." */
	const char *ref;	/* NULL means HEAD */
	const char *path;	/* subtree; NULL or "" means the root */
	int worktree;
	const char *state_dir;	/* for the cache of remote repositories */
};

struct src_file {
	char *path;
	char *data;	/* len bytes, NUL-terminated for convenience */
	size_t len;
};

struct src_files {
	struct src_file *v;
	size_t n;
	size_t alloc;
	char commit[41];	/* hex commit id, or "worktree" */
	int fetched;		/* 1 when repo was a remote that was fetched */
};

#define SRC_FILES_INIT { NULL, 0, 0, "", 0 }

/*
 * Returns 0 on success (per-file problems are in d), -1 when the manifests
 * cannot be read at all (no such repository, unknown ref, path not found,
 * fetch failed), with err set. Caller releases files with src_files_release().
 */
int source_load(const struct source_opts *opts, struct src_files *files,
		struct diags *d, struct berr *err);
void src_files_release(struct src_files *files);

/* libgit2 must be initialised once per process; both are idempotent. */
void source_global_init(void);
void source_global_shutdown(void);

#endif
