/*
 * test-source.c - reading manifests from git commits, work trees and
 * remote repositories. Every test builds its repositories with the git
 * command line in a fresh temporary directory and removes it afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "helpers.h"

#include "manifest/source.h"
#include "manifest/yaml.h"
#include "util/buf.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define GIT "git -c user.name=t -c user.email=t@t -c init.defaultBranch=main " \
	"-c commit.gpgsign=false -c tag.gpgsign=false " \
	"-c protocol.file.allow=always -c advice.detachedHead=false"

struct fx {
	char root[PATH_MAX];	/* the temporary directory */
	char repo[PATH_MAX];	/* root/repo */
	char state[PATH_MAX];	/* root/state */
	struct src_files files;
	struct diags d;
	struct berr err;
};

/* ---- helpers ------------------------------------------------------------ */

/* Run a command, its output to /dev/null; the test fails unless it exits 0. */
#define sh(...) sh_run(SH_QUIET | SH_MUST, __VA_ARGS__)

/* The id of the commit spec names in repo, in hex; caller frees. */
static char *
rev(const char *repo, const char *spec)
{
	int status;
	char *out = sh_output(&status, "cd '%s' && git rev-parse --verify -q '%s^{commit}'",
			      repo, spec);

	assert_int_equal(status, 0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void
write_file(const char *dir, const char *rel, const char *content)
{
	char *path = xasprintf("%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	FILE *f;

	*slash = '\0';
	sh("mkdir -p '%s'", path);
	*slash = '/';
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	free(path);
}

static void
git_init(const char *dir)
{
	sh("mkdir -p '%s' && cd '%s' && " GIT " init -q", dir, dir);
}

static void
commit_all(const char *dir, const char *msg)
{
	sh("cd '%s' && git add -A && " GIT " commit -q -m '%s'", dir, msg);
}

/* "$TMPDIR/<name>-XXXXXX" for mkdtemp(); caller frees. */
static char *
tmp_template(const char *name)
{
	const char *tmp = getenv("TMPDIR");

	return xasprintf("%s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
}

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char *tmpl = tmp_template("berth-test-source");
	struct src_files init = SRC_FILES_INIT;
	struct diags dinit = DIAGS_INIT;

	assert_non_null(mkdtemp(tmpl));
	snprintf(fx->root, sizeof(fx->root), "%s", tmpl);
	snprintf(fx->repo, sizeof(fx->repo), "%s/repo", tmpl);
	snprintf(fx->state, sizeof(fx->state), "%s/state", tmpl);
	fx->files = init;
	fx->d = dinit;
	free(tmpl);
	*state = fx;
	return 0;
}

static void
reset(struct fx *fx)
{
	struct diags dinit = DIAGS_INIT;

	src_files_release(&fx->files);
	diags_release(&fx->d);
	fx->d = dinit;
	fx->err.msg[0] = '\0';
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	reset(fx);
	rm_tree(fx->root);
	free(fx);
	return 0;
}

static int
load_opts(struct fx *fx, const char *repo, const char *ref, const char *path,
	  int worktree)
{
	struct source_opts o = {
		.repo = repo, .ref = ref, .path = path, .worktree = worktree,
		.state_dir = fx->state,
	};

	reset(fx);
	return source_load(&o, &fx->files, &fx->d, &fx->err);
}

/* Load, expecting success, and return a '\n'-joined list of the paths. */
static char *
load_paths(struct fx *fx, const char *repo, const char *ref, const char *path,
	   int worktree)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc = load_opts(fx, repo, ref, path, worktree);

	if (rc != 0)
		fail_msg("source_load failed: %s", fx->err.msg);
	for (i = 0; i < fx->files.n; i++) {
		if (i)
			buf_addch(&b, '\n');
		buf_addstr(&b, fx->files.v[i].path);
	}
	return buf_detach(&b, NULL);
}

static void
expect_paths(struct fx *fx, const char *repo, const char *ref,
	     const char *path, int worktree, const char *want)
{
	char *got = load_paths(fx, repo, ref, path, worktree);

	assert_string_equal(got, want);
	free(got);
}

static void
expect_error(struct fx *fx, const char *repo, const char *ref,
	     const char *path, int worktree, const char *want)
{
	assert_int_equal(load_opts(fx, repo, ref, path, worktree), -1);
	assert_string_equal(fx->err.msg, want);
	assert_int_equal(fx->files.n, 0);
}

static const struct src_file *
find(struct fx *fx, const char *path)
{
	size_t i;

	for (i = 0; i < fx->files.n; i++)
		if (strcmp(fx->files.v[i].path, path) == 0)
			return &fx->files.v[i];
	fail_msg("no file \"%s\"", path);
	return NULL;
}

static void
expect_data(struct fx *fx, const char *path, const char *want)
{
	const struct src_file *f = find(fx, path);

	assert_int_equal(f->len, strlen(want));
	assert_string_equal(f->data, want);
}

static void
expect_diag(struct fx *fx, size_t i, const char *file, const char *msg)
{
	assert_true(i < fx->d.n);
	assert_int_equal(fx->d.v[i].severity, DIAG_ERROR);
	assert_string_equal(fx->d.v[i].file, file);
	assert_string_equal(fx->d.v[i].msg, msg);
}

static void
expect_commit(struct fx *fx, const char *repo, const char *spec)
{
	char *want = rev(repo, spec);

	assert_int_equal(strlen(want), 40);
	assert_string_equal(fx->files.commit, want);
	free(want);
}

/* ---- commits ------------------------------------------------------------ */

static void
test_default_head(void **state)
{
	struct fx *fx = *state;

	git_init(fx->repo);
	write_file(fx->repo, "host.yaml", "kind: Host\n");
	commit_all(fx->repo, "one");
	expect_paths(fx, fx->repo, NULL, NULL, 0, "host.yaml");
	expect_data(fx, "host.yaml", "kind: Host\n");
	expect_commit(fx, fx->repo, "HEAD");
	assert_int_equal(fx->files.fetched, 0);
	assert_int_equal(fx->d.n, 0);

	/* "HEAD" and "" are the default too */
	expect_paths(fx, fx->repo, "HEAD", "", 0, "host.yaml");
	expect_commit(fx, fx->repo, "HEAD");
}

/* c1 has v: 1 and is branch "old", tags "light" and "annotated"; c2 v: 2. */
static void
make_history(struct fx *fx)
{
	git_init(fx->repo);
	write_file(fx->repo, "a.yaml", "v: 1\n");
	commit_all(fx->repo, "one");
	sh("cd '%s' && git branch old && git tag light && "
	   GIT " tag -a -m note annotated", fx->repo);
	write_file(fx->repo, "a.yaml", "v: 2\n");
	commit_all(fx->repo, "two");
}

static void
expect_at(struct fx *fx, const char *ref, const char *commit_spec,
	  const char *data)
{
	expect_paths(fx, fx->repo, ref, NULL, 0, "a.yaml");
	expect_data(fx, "a.yaml", data);
	expect_commit(fx, fx->repo, commit_spec);
}

static void
test_refs(void **state)
{
	struct fx *fx = *state;
	char *c1, *shortid;

	make_history(fx);
	c1 = rev(fx->repo, "HEAD~1");
	shortid = xstrndup(c1, 7);

	expect_at(fx, NULL, "HEAD", "v: 2\n");
	expect_at(fx, "main", "HEAD", "v: 2\n");
	expect_at(fx, "old", "HEAD~1", "v: 1\n");
	expect_at(fx, "light", "HEAD~1", "v: 1\n");
	expect_at(fx, "annotated", "HEAD~1", "v: 1\n");
	expect_at(fx, c1, "HEAD~1", "v: 1\n");
	expect_at(fx, shortid, "HEAD~1", "v: 1\n");
	expect_at(fx, "HEAD~1", "HEAD~1", "v: 1\n");
	expect_at(fx, "refs/tags/annotated", "HEAD~1", "v: 1\n");
	/* the commit id, never the id of the annotated tag */
	assert_string_equal(fx->files.commit, c1);
	free(shortid);
	free(c1);
}

static void
test_unknown_ref(void **state)
{
	struct fx *fx = *state;
	char *want;

	make_history(fx);
	want = xasprintf("unknown revision \"nope\" in repository \"%s\": "
			 "want a branch, tag or commit id", fx->repo);
	expect_error(fx, fx->repo, "nope", NULL, 0, want);
	free(want);

	want = xasprintf("unknown revision \"HEAD~5\" in repository \"%s\": "
			 "want a branch, tag or commit id", fx->repo);
	expect_error(fx, fx->repo, "HEAD~5", NULL, 0, want);
	free(want);

	want = xasprintf("revision \"HEAD^{tree}\" in repository \"%s\" is a "
			 "tree, not a commit", fx->repo);
	expect_error(fx, fx->repo, "HEAD^{tree}", NULL, 0, want);
	free(want);
}

static void
test_empty_repository(void **state)
{
	struct fx *fx = *state;
	char *want;

	git_init(fx->repo);
	want = xasprintf("unknown revision \"HEAD\" in repository \"%s\": "
			 "the repository has no commits yet", fx->repo);
	expect_error(fx, fx->repo, NULL, NULL, 0, want);
	free(want);
}

static void
test_not_a_repository(void **state)
{
	struct fx *fx = *state;
	char *dir = xasprintf("%s/plain", fx->root);
	char *missing = xasprintf("%s/missing", fx->root);
	char *want;

	write_file(dir, "a.yaml", "x: 1\n");
	want = xasprintf("\"%s\" is not a git repository: want a repository "
			 "or a directory in its work tree", dir);
	expect_error(fx, dir, NULL, NULL, 0, want);
	free(want);
	want = xasprintf("repository \"%s\" not found: No such file or "
			 "directory", missing);
	expect_error(fx, missing, NULL, NULL, 0, want);
	expect_error(fx, missing, NULL, NULL, 1, want);
	free(want);
	free(missing);
	free(dir);
}

static void
test_subtree(void **state)
{
	struct fx *fx = *state;
	char *head, *want;

	git_init(fx->repo);
	write_file(fx->repo, "fleet/hosts/nix-01.yaml", "kind: Host\n");
	write_file(fx->repo, "fleet/pool.yml", "kind: Pool\n");
	write_file(fx->repo, "fleet/README", "docs\n");
	write_file(fx->repo, "other/x.yaml", "kind: Plan\n");
	write_file(fx->repo, "top.yaml", "kind: Plan\n");
	commit_all(fx->repo, "one");

	expect_paths(fx, fx->repo, NULL, NULL, 0,
		     "fleet/hosts/nix-01.yaml\nfleet/pool.yml\nother/x.yaml\n"
		     "top.yaml");
	expect_paths(fx, fx->repo, NULL, "fleet", 0,
		     "fleet/hosts/nix-01.yaml\nfleet/pool.yml");
	expect_data(fx, "fleet/pool.yml", "kind: Pool\n");
	expect_paths(fx, fx->repo, NULL, "./fleet/", 0,
		     "fleet/hosts/nix-01.yaml\nfleet/pool.yml");
	expect_paths(fx, fx->repo, NULL, "fleet//hosts", 0,
		     "fleet/hosts/nix-01.yaml");
	expect_paths(fx, fx->repo, NULL, ".", 0,
		     "fleet/hosts/nix-01.yaml\nfleet/pool.yml\nother/x.yaml\n"
		     "top.yaml");
	/* one file */
	expect_paths(fx, fx->repo, NULL, "fleet/pool.yml", 0, "fleet/pool.yml");

	head = rev(fx->repo, "HEAD");
	head[8] = '\0';
	want = xasprintf("path \"fleet/nope\" not found in commit %s", head);
	expect_error(fx, fx->repo, NULL, "fleet/nope", 0, want);
	free(want);
	expect_error(fx, fx->repo, NULL, "fleet/README", 0,
		     "\"fleet/README\" is a file, not a directory or a "
		     ".yaml/.yml file");
	expect_error(fx, fx->repo, NULL, "../fleet", 0,
		     "path \"../fleet\" leaves the repository: want a path "
		     "without \"..\"");
	expect_error(fx, fx->repo, NULL, "/fleet", 0,
		     "path \"/fleet\" is absolute: want a path relative to "
		     "the repository root");
	free(head);
}

static void
test_sorting_and_names(void **state)
{
	struct fx *fx = *state;
	static const char *const names[] = {
		"z.yaml", "a/b/c.yaml", "a.yaml", "a-b.yaml", "A.yaml",
		"a/x.yml", "a/b/deep/er/d.yml",
		/* not manifests */
		"README.md", "x.YAML", "x.Yml", "x.yaml.bak", "x.json",
		"yaml", "a/b/notes.txt",
	};
	size_t i;

	git_init(fx->repo);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		write_file(fx->repo, names[i], "k: v\n");
	sh("chmod +x '%s/a.yaml'", fx->repo);
	commit_all(fx->repo, "one");
	expect_paths(fx, fx->repo, NULL, NULL, 0,
		     "A.yaml\na-b.yaml\na.yaml\na/b/c.yaml\na/b/deep/er/d.yml\n"
		     "a/x.yml\nz.yaml");
	assert_int_equal(fx->d.n, 0);
	/* the same from the work tree */
	expect_paths(fx, fx->repo, NULL, NULL, 1,
		     "A.yaml\na-b.yaml\na.yaml\na/b/c.yaml\na/b/deep/er/d.yml\n"
		     "a/x.yml\nz.yaml");
}

/* A local path with a colon is not taken for host:path when it has a
 * slash before the colon. */
static void
test_local_path_with_colon(void **state)
{
	struct fx *fx = *state;
	char *dir = xasprintf("%s/a:b", fx->root);

	git_init(dir);
	write_file(dir, "a.yaml", "k: v\n");
	commit_all(dir, "one");
	expect_paths(fx, dir, NULL, NULL, 0, "a.yaml");
	assert_int_equal(fx->files.fetched, 0);
	free(dir);
}

static void
test_subdirectory_and_bare(void **state)
{
	struct fx *fx = *state;
	char *sub, *bare;

	git_init(fx->repo);
	write_file(fx->repo, "fleet/a.yaml", "k: v\n");
	write_file(fx->repo, "b.yaml", "k: v\n");
	commit_all(fx->repo, "one");

	/* a directory inside the work tree opens the repository; paths
	 * stay relative to its root */
	sub = xasprintf("%s/fleet", fx->repo);
	expect_paths(fx, sub, NULL, NULL, 0, "b.yaml\nfleet/a.yaml");
	expect_paths(fx, sub, NULL, "fleet", 1, "fleet/a.yaml");
	assert_string_equal(fx->files.commit, "worktree");

	bare = xasprintf("%s/bare.git", fx->root);
	sh("git clone -q --bare '%s' '%s'", fx->repo, bare);
	expect_paths(fx, bare, "main", NULL, 0, "b.yaml\nfleet/a.yaml");
	expect_commit(fx, fx->repo, "HEAD");
	free(sub);
	sub = xasprintf("repository \"%s\" is bare: want a repository with "
			"a work tree", bare);
	expect_error(fx, bare, NULL, NULL, 1, sub);
	free(sub);
	free(bare);
}

/* ---- work tree ---------------------------------------------------------- */

static void
test_worktree(void **state)
{
	struct fx *fx = *state;
	char *want;

	git_init(fx->repo);
	write_file(fx->repo, ".gitignore", "ignored.yaml\nbuild/\nforced.yaml\n");
	write_file(fx->repo, "tracked.yaml", "v: 1\n");
	write_file(fx->repo, "deleted.yaml", "v: 1\n");
	commit_all(fx->repo, "one");
	write_file(fx->repo, "forced.yaml", "v: forced\n");
	sh("cd '%s' && git add -f forced.yaml && " GIT " commit -q -m two",
	   fx->repo);

	write_file(fx->repo, "tracked.yaml", "v: 2\n");
	sh("rm '%s/deleted.yaml'", fx->repo);
	write_file(fx->repo, "untracked.yaml", "v: new\n");
	write_file(fx->repo, "dir/untracked.yml", "v: new\n");
	write_file(fx->repo, "ignored.yaml", "v: ignored\n");
	write_file(fx->repo, "build/out.yaml", "v: ignored\n");
	write_file(fx->repo, "dir/build/out.yaml", "v: ignored\n");
	write_file(fx->repo, ".git/inside.yaml", "v: git\n");

	expect_paths(fx, fx->repo, NULL, NULL, 1,
		     "dir/untracked.yml\nforced.yaml\ntracked.yaml\n"
		     "untracked.yaml");
	expect_data(fx, "tracked.yaml", "v: 2\n");
	assert_string_equal(fx->files.commit, "worktree");
	assert_int_equal(fx->d.n, 0);

	/* the commit is unchanged */
	expect_paths(fx, fx->repo, NULL, NULL, 0,
		     "deleted.yaml\nforced.yaml\ntracked.yaml");
	expect_data(fx, "tracked.yaml", "v: 1\n");

	want = xasprintf("path \"nope\" not found in the work tree of \"%s\"",
			 fx->repo);
	expect_error(fx, fx->repo, NULL, "nope", 1, want);
	free(want);
}

static void
test_worktree_plain_directory(void **state)
{
	struct fx *fx = *state;
	char *dir = xasprintf("%s/plain", fx->root);
	char *want;

	write_file(dir, "a.yaml", "k: v\n");
	write_file(dir, "d/e/b.yml", "k: v\n");
	write_file(dir, "d/notes.txt", "k: v\n");
	write_file(dir, ".git/x.yaml", "k: v\n");	/* not a repository */
	write_file(dir, "nested/.git", "gitdir: elsewhere\n");
	write_file(dir, "nested/n.yaml", "k: v\n");
	expect_paths(fx, dir, NULL, NULL, 1, "a.yaml\nd/e/b.yml");
	assert_string_equal(fx->files.commit, "worktree");
	assert_int_equal(fx->d.n, 1);
	expect_diag(fx, 0, "nested",
		    "refusing nested repository: manifests of another "
		    "repository are not read");
	expect_paths(fx, dir, NULL, "d", 1, "d/e/b.yml");
	want = xasprintf("path \"nope\" not found in the work tree of \"%s\"",
			 dir);
	expect_error(fx, dir, NULL, "nope", 1, want);
	free(want);
	free(dir);
}

/* ---- links, submodules, big files --------------------------------------- */

static void
test_symlink_refused(void **state)
{
	struct fx *fx = *state;
	int worktree;

	git_init(fx->repo);
	write_file(fx->repo, "fleet/a.yaml", "k: v\n");
	sh("cd '%s/fleet' && ln -s ../../secret.yaml link.yaml && "
	   "ln -s /etc docs", fx->repo);
	commit_all(fx->repo, "one");
	for (worktree = 0; worktree <= 1; worktree++) {
		expect_paths(fx, fx->repo, NULL, "fleet", worktree,
			     "fleet/a.yaml");
		diags_sort(&fx->d);
		assert_int_equal(fx->d.n, 2);
		expect_diag(fx, 0, "fleet/docs",
			    "refusing symbolic link (to \"/etc\"): manifests are "
			    "read from the commit and links are not followed");
		expect_diag(fx, 1, "fleet/link.yaml",
			    "refusing symbolic link (to \"../../secret.yaml\"): "
			    "manifests are read from the commit and links are "
			    "not followed");
	}
	/* --path naming a link */
	expect_paths(fx, fx->repo, NULL, "fleet/link.yaml", 0, "");
	assert_int_equal(fx->d.n, 1);
	expect_diag(fx, 0, "fleet/link.yaml",
		    "refusing symbolic link (to \"../../secret.yaml\"): "
		    "manifests are read from the commit and links are not "
		    "followed");
}

static void
test_symlink_target_quoted(void **state)
{
	struct fx *fx = *state;

	git_init(fx->repo);
	sh("cd '%s' && ln -s \"$(printf 'a\"b\\nc')\" odd.yaml", fx->repo);
	commit_all(fx->repo, "one");
	expect_paths(fx, fx->repo, NULL, NULL, 0, "");
	assert_int_equal(fx->d.n, 1);
	expect_diag(fx, 0, "odd.yaml",
		    "refusing symbolic link (to \"a\\\"b\\x0ac\"): manifests are "
		    "read from the commit and links are not followed");
}

static void
test_submodule_refused(void **state)
{
	struct fx *fx = *state;
	char *sub = xasprintf("%s/sub", fx->root);
	char *subhead, *want;
	int worktree;

	git_init(sub);
	write_file(sub, "other.yaml", "k: v\n");
	commit_all(sub, "sub");
	subhead = rev(sub, "HEAD");

	git_init(fx->repo);
	write_file(fx->repo, "a.yaml", "k: v\n");
	sh("cd '%s' && " GIT " submodule add -q '%s' mods/sub", fx->repo, sub);
	commit_all(fx->repo, "one");

	want = xasprintf("refusing submodule at commit %s: manifests of another "
			 "repository are not read", subhead);
	for (worktree = 0; worktree <= 1; worktree++) {
		expect_paths(fx, fx->repo, NULL, NULL, worktree, "a.yaml");
		assert_int_equal(fx->d.n, 1);
		expect_diag(fx, 0, "mods/sub", want);
	}

	/* a submodule that is not checked out is refused all the same */
	sh("rm -rf '%s/mods/sub' && mkdir '%s/mods/sub'", fx->repo, fx->repo);
	expect_paths(fx, fx->repo, NULL, NULL, 1, "a.yaml");
	assert_int_equal(fx->d.n, 1);
	expect_diag(fx, 0, "mods/sub", want);

	/* a repository inside the work tree that git does not know of */
	sh("cp -r '%s' '%s/nested'", sub, fx->repo);
	expect_paths(fx, fx->repo, NULL, NULL, 1, "a.yaml");
	diags_sort(&fx->d);
	assert_int_equal(fx->d.n, 2);
	expect_diag(fx, 0, "mods/sub", want);
	expect_diag(fx, 1, "nested",
		    "refusing nested repository: manifests of another "
		    "repository are not read");
	free(want);
	free(subhead);
	free(sub);
}

static void
test_big_file_skipped(void **state)
{
	struct fx *fx = *state;
	char *path;
	FILE *f;
	size_t i;
	int worktree;

	git_init(fx->repo);
	write_file(fx->repo, "small.yaml", "k: v\n");
	write_file(fx->repo, "exact.yaml", "");
	path = xasprintf("%s/big.yaml", fx->repo);
	f = fopen(path, "w");
	assert_non_null(f);
	for (i = 0; i < YAML_MAX_FILE + 1; i++)
		fputc('#', f);
	assert_int_equal(fclose(f), 0);
	free(path);
	sh("truncate -s %u '%s/exact.yaml'", (unsigned)YAML_MAX_FILE, fx->repo);
	commit_all(fx->repo, "one");

	for (worktree = 0; worktree <= 1; worktree++) {
		expect_paths(fx, fx->repo, NULL, NULL, worktree,
			     "exact.yaml\nsmall.yaml");
		assert_int_equal(find(fx, "exact.yaml")->len, YAML_MAX_FILE);
		assert_int_equal(fx->d.n, 1);
		expect_diag(fx, 0, "big.yaml",
			    "file is 4194305 bytes, over the limit of "
			    "4194304 bytes");
	}
}

/* ---- limits ------------------------------------------------------------- */

/* Commit the tree that the shell commands in script leave in $t as main. */
static void
commit_tree(struct fx *fx, const char *script)
{
	git_init(fx->repo);
	sh("cd '%s' && b=$(echo 'k: v' | git hash-object -w --stdin) && %s && "
	   "c=$(" GIT " commit-tree -m m $t) && git update-ref refs/heads/main $c",
	   fx->repo, script);
}

static void
test_too_many_files(void **state)
{
	struct fx *fx = *state;
	char *dir = xasprintf("%s/plain", fx->root);
	char *want;
	char name[64];
	int i;

	commit_tree(fx, "t=$(seq 1 50001 | awk -v b=$b "
		    "'{printf \"100644 blob %s\\tf%d.yaml\\n\", b, $1}' | "
		    "git mktree)");
	want = xasprintf("too many .yaml/.yml files in repository \"%s\": want "
			 "at most 50000", fx->repo);
	expect_error(fx, fx->repo, NULL, NULL, 0, want);
	free(want);

	write_file(dir, "x.yaml", "");
	for (i = 0; i < SOURCE_MAX_FILES; i++) {
		FILE *f;

		snprintf(name, sizeof(name), "%s/f%d.yml", dir, i);
		f = fopen(name, "w");
		assert_non_null(f);
		fclose(f);
	}
	want = xasprintf("too many .yaml/.yml files in repository \"%s\": want "
			 "at most 50000", dir);
	expect_error(fx, dir, NULL, NULL, 1, want);
	free(want);
	free(dir);
}

/* The same subtree listed many times: a small repository, a huge tree. */
static void
test_tree_bomb(void **state)
{
	struct fx *fx = *state;
	char *want;

	commit_tree(fx, "t0=$(seq 1 1000 | awk -v b=$b "
		    "'{printf \"100644 blob %s\\tf%d.txt\\n\", b, $1}' | "
		    "git mktree) && t=$(seq 1 1001 | awk -v t=$t0 "
		    "'{printf \"040000 tree %s\\td%d\\n\", t, $1}' | "
		    "git mktree)");
	want = xasprintf("too many entries under \"/\" in repository \"%s\": "
			 "want at most 1000000", fx->repo);
	expect_error(fx, fx->repo, NULL, NULL, 0, want);
	free(want);
}

static void
test_too_deep(void **state)
{
	struct fx *fx = *state;
	struct buf want = BUF_INIT;
	int i;

	commit_tree(fx, "t=$(printf '100644 blob %s\\ta.yaml\\n' $b | git mktree) && "
		    "for i in $(seq 1 257); do "
		    "t=$(printf '040000 tree %s\\td\\n' $t | git mktree); done");
	buf_addstr(&want, "directories nested too deeply at \"d");
	for (i = 1; i < 257; i++)
		buf_addstr(&want, "/d");
	buf_addstr(&want, "\": want at most 256 levels");
	expect_error(fx, fx->repo, NULL, NULL, 0, want.buf);
	/* 256 levels below --path are fine */
	buf_reset(&want);
	for (i = 0; i < 257; i++)
		buf_addstr(&want, "d/");
	buf_addstr(&want, "a.yaml");
	expect_paths(fx, fx->repo, NULL, "d", 0, want.buf);
	buf_release(&want);
}

/* ---- remotes ------------------------------------------------------------ */

static char *
cache_path(struct fx *fx, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	struct buf b = BUF_INIT;

	assert_int_equal(EVP_Digest(url, strlen(url), md, &n, EVP_sha256(),
				    NULL), 1);
	buf_addf(&b, "%s/cache/git/", fx->state);
	for (i = 0; i < 8; i++)
		buf_addf(&b, "%02x", md[i]);
	return buf_detach(&b, NULL);
}

static void
test_remote(void **state)
{
	struct fx *fx = *state;
	char *url = xasprintf("file://%s", fx->repo);
	char *cache = cache_path(fx, url);
	struct stat st;
	char *want;

	/* the default branch is "trunk", and "dev" is newer */
	sh("mkdir -p '%s' && cd '%s' && " GIT " init -q -b trunk", fx->repo,
	   fx->repo);
	write_file(fx->repo, "fleet/a.yaml", "v: 1\n");
	commit_all(fx->repo, "one");
	sh("cd '%s' && " GIT " tag -a -m note v1 && git checkout -q -b dev",
	   fx->repo);
	write_file(fx->repo, "fleet/dev.yaml", "v: dev\n");
	commit_all(fx->repo, "dev");
	sh("cd '%s' && git checkout -q trunk", fx->repo);

	expect_paths(fx, url, NULL, "fleet", 0, "fleet/a.yaml");
	expect_commit(fx, fx->repo, "trunk");
	assert_int_equal(fx->files.fetched, 1);
	assert_int_equal(stat(cache, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(fx->state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	want = xasprintf("%s/cache/git", fx->state);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(want);

	expect_paths(fx, url, "HEAD", NULL, 0, "fleet/a.yaml");
	expect_commit(fx, fx->repo, "trunk");
	expect_paths(fx, url, "dev", NULL, 0, "fleet/a.yaml\nfleet/dev.yaml");
	expect_commit(fx, fx->repo, "dev");
	expect_paths(fx, url, "dev~1", NULL, 0, "fleet/a.yaml");
	expect_commit(fx, fx->repo, "trunk");
	expect_paths(fx, url, "origin/dev", NULL, 0,
		     "fleet/a.yaml\nfleet/dev.yaml");
	expect_paths(fx, url, "v1", NULL, 0, "fleet/a.yaml");
	expect_commit(fx, fx->repo, "v1");

	/* a new commit is seen on the next load, from the same cache */
	write_file(fx->repo, "fleet/b.yaml", "v: 2\n");
	commit_all(fx->repo, "two");
	expect_paths(fx, url, NULL, NULL, 0, "fleet/a.yaml\nfleet/b.yaml");
	expect_commit(fx, fx->repo, "trunk");
	assert_int_equal(fx->files.fetched, 1);

	/* a remote whose HEAD is detached off every branch has no default
	 * branch (libgit2 guesses one when HEAD is at a branch's commit) */
	sh("cd '%s' && git checkout -q --detach && "
	   GIT " commit -q --allow-empty -m detached", fx->repo);
	want = xasprintf("unknown revision \"HEAD\" in repository \"%s\": the "
			 "remote has no default branch; want a branch, tag or "
			 "commit id", url);
	expect_error(fx, url, NULL, NULL, 0, want);
	free(want);
	expect_paths(fx, url, "trunk", NULL, 0, "fleet/a.yaml\nfleet/b.yaml");
	sh("cd '%s' && git checkout -q trunk", fx->repo);

	/* a deleted branch is pruned */
	sh("cd '%s' && git branch -q -D dev", fx->repo);
	want = xasprintf("unknown revision \"dev\" in repository \"%s\": "
			 "want a branch, tag or commit id", url);
	expect_error(fx, url, "dev", NULL, 0, want);
	free(want);

	want = xasprintf("remote repository \"%s\" has no work tree: want a "
			 "local path", url);
	expect_error(fx, url, NULL, NULL, 1, want);
	free(want);
	free(cache);
	free(url);
}

static void
tell_pipe(void *arg, const char *msg)
{
	int fd = *(int *)arg;

	if (write(fd, msg, strlen(msg)) < 0)
		_exit(3);
}

/*
 * Several processes loading the same remote at once (a timer's reconcile
 * and a CI plan) share its cache: every load succeeds and sees the commit.
 */
static void
test_remote_concurrent(void **state)
{
	struct fx *fx = *state;
	char *url = xasprintf("file://%s", fx->repo), *cache;
	char want[41];
	pid_t kids[8];
	size_t i, round;
	FILE *p;

	sh("mkdir -p '%s' && cd '%s' && " GIT " init -q -b main", fx->repo, fx->repo);
	for (round = 0; round < 4; round++) {
		char *cmd;

		for (i = 0; i < 20; i++) {
			char name[64];

			snprintf(name, sizeof(name), "fleet/r%zu-%zu.yaml", round, i);
			write_file(fx->repo, name, "v: 1\n");
			sh("cd '%s' && git add -A && " GIT " commit -q -m c%zu && "
			   GIT " tag t%zu-%zu && git branch -f b%zu-%zu",
			   fx->repo, i, round, i, round, i);
		}
		cmd = xasprintf("git -C '%s' rev-parse HEAD", fx->repo);
		p = popen(cmd, "r");
		free(cmd);
		assert_non_null(p);
		assert_non_null(fgets(want, sizeof(want), p));
		pclose(p);
		for (i = 0; i < 8; i++) {
			kids[i] = fork();
			assert_true(kids[i] >= 0);
			if (kids[i] == 0) {
				struct source_opts o = { 0 };
				struct src_files f = SRC_FILES_INIT;
				struct diags d = DIAGS_INIT;
				struct berr err;
				int rc;

				o.repo = url;
				o.state_dir = fx->state;
				rc = source_load(&o, &f, &d, &err);
				if (rc < 0)
					fprintf(stderr, "load %zu: %s\n", i, err.msg);
				else if (strcmp(f.commit, want))
					fprintf(stderr, "load %zu: commit %s, want %s\n", i,
						f.commit, want);
				_exit(rc < 0 || strcmp(f.commit, want) ? 1 : 0);
			}
		}
		for (i = 0; i < 8; i++) {
			int st;

			assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail_msg("round %zu: load %zu of 8 at once failed", round, i);
		}
	}

	/* a fetch killed half-way leaves libgit2's lock files in the cache:
	 * the next load (holding the cache's own lock) clears them */
	cache = cache_path(fx, url);
	sh("cd '%s' && touch config.lock HEAD.lock packed-refs.lock "
	   "refs/remotes/origin/main.lock", cache);
	write_file(fx->repo, "fleet/late.yaml", "v: 1\n");
	commit_all(fx->repo, "late");
	reset(fx);
	{
		struct source_opts o = { 0 };

		o.repo = url;
		o.state_dir = fx->state;
		if (source_load(&o, &fx->files, &fx->d, &fx->err) < 0)
			fail_msg("load after a killed fetch: %s", fx->err.msg);
	}
	expect_commit(fx, fx->repo, "main");

	/* a load that waits for another berth's fetch says so, once, and
	 * goes on when the other lets go */
	{
		char *lockpath = xasprintf("%s.lock", cache), said[512] = "";
		const char *says = "waiting for another berth (pid 4242) fetching \"file://";
		int fd = open(lockpath, O_RDWR), pfd[2], st;
		struct pollfd pp;
		size_t len = 0;
		pid_t kid;
		ssize_t n;

		assert_true(fd >= 0);
		assert_int_equal(flock(fd, LOCK_EX), 0);
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, "4242\n", 5, 0), 5);
		assert_int_equal(pipe(pfd), 0);
		kid = fork();
		assert_true(kid >= 0);
		if (kid == 0) {
			struct source_opts o = { 0 };
			struct src_files f = SRC_FILES_INIT;
			struct diags d = DIAGS_INIT;
			struct berr err;

			/* the parent's lock is not ours: were the parent to
			 * fail, we would wait on ourselves */
			close(fd);
			close(pfd[0]);
			o.repo = url;
			o.state_dir = fx->state;
			o.waiting = tell_pipe;
			o.waiting_arg = &pfd[1];
			_exit(source_load(&o, &f, &d, &err) < 0 ? 1 : 0);
		}
		close(pfd[1]);
		/* it says so after a second of waiting; 60 s is for a loaded machine */
		pp = (struct pollfd){ .fd = pfd[0], .events = POLLIN };
		if (poll(&pp, 1, 60000) != 1)
			fail_msg("a load waiting for the cache's lock: said nothing within 60 s");
		n = read(pfd[0], said, sizeof(said) - 1);
		if (n <= 0)
			fail_msg("a load waiting for the cache's lock ended without saying so");
		len = (size_t)n;
		/* it said it waits, and the lock is still ours: it cannot be done */
		assert_int_equal(waitpid(kid, &st, WNOHANG), 0);
		flock(fd, LOCK_UN);
		close(fd);
		/* now it goes on and ends; it says nothing more */
		while (len < sizeof(said) - 1 &&
		       (n = read(pfd[0], said + len, sizeof(said) - 1 - len)) > 0)
			len += (size_t)n;
		said[len] = '\0';
		close(pfd[0]);
		assert_int_equal(waitpid(kid, &st, 0), kid);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (strstr(said, says) != said || strstr(said + 1, says))
			fail_msg("want one \"%s...\", said: %s", says, said);
		free(lockpath);
	}
	free(cache);
	free(url);
}

/*
 * A URL with a password is refused before anything is made or fetched,
 * and shown without it; a URL with a user name alone is not refused.
 */
static void
test_remote_password(void **state)
{
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{ "https://deploy:s3cret@git.example.org/fleet.git",
		  "https://deploy:***@git.example.org/fleet.git" },
		{ "https://deploy:p@ss@git.example.org:8443/fleet.git",
		  "https://deploy:***@git.example.org:8443/fleet.git" },
		{ "http://deploy:@git.example.org/fleet.git",
		  "http://deploy:***@git.example.org/fleet.git" },
		{ "ssh://git:s3cret@git.example.org/fleet.git",
		  "ssh://git:***@git.example.org/fleet.git" },
	};
	struct fx *fx = *state;
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *want = xasprintf("repository URL \"%s\" has a password in it: "
				       "refusing it", cases[i].shown);

		assert_int_equal(load_opts(fx, cases[i].url, NULL, NULL, 0), -1);
		assert_memory_equal(fx->err.msg, want, strlen(want));
		assert_null(strstr(fx->err.msg, "s3cret"));
		assert_null(strstr(fx->err.msg, "p@ss"));
		assert_non_null(strstr(fx->err.msg, i < 3 ? "BERTH_GIT_TOKEN" : "--ssh-key"));
		free(want);
	}
	assert_int_equal(stat(fx->state, &st), -1);

	/* a user name, an '@' in the path: not a password, the fetch is tried */
	assert_int_equal(load_opts(fx, "https://deploy@127.0.0.1:1/a:b@c.git", NULL, NULL,
				   0), -1);
	assert_null(strstr(fx->err.msg, "password"));
}

/*
 * A token goes to https only: refused with http://, ignored (the file not
 * even read) by a file:// remote; a token file others may read, an
 * empty one or one of two lines is refused, naming the file, never
 * showing the token.
 */
static void
test_remote_token(void **state)
{
	struct fx *fx = *state;
	struct source_opts o = { .state_dir = fx->state };
	char *url = xasprintf("file://%s", fx->repo), *file = xasprintf("%s/token", fx->root);
	char *want;

	git_init(fx->repo);
	write_file(fx->repo, "a.yaml", "v: 1\n");
	commit_all(fx->repo, "one");

	o.repo = "http://127.0.0.1:1/fleet.git";
	o.git_token = "tok-1234";
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	assert_string_equal(fx->err.msg, "refusing to send the token of BERTH_GIT_TOKEN to "
			    "\"http://127.0.0.1:1/fleet.git\": http:// would carry it in "
			    "clear; want an https:// URL");
	assert_int_equal(access(fx->state, F_OK), -1);

	write_file(fx->root, "token", "tok-1234\n");
	assert_int_equal(chmod(file, 0644), 0);
	o.git_token_file = file;
	o.repo = url;
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), 0);
	assert_int_equal(fx->files.n, 1);

	o.repo = "https://127.0.0.1:1/fleet.git";
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	want = xasprintf("git token file \"%s\" is mode 0644: want it readable by its owner "
			 "only (chmod 600)", file);
	assert_string_equal(fx->err.msg, want);
	free(want);

	assert_int_equal(chmod(file, 0600), 0);
	write_file(fx->root, "token", "\n");
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	want = xasprintf("git token file \"%s\" is empty: want the token", file);
	assert_string_equal(fx->err.msg, want);
	free(want);

	write_file(fx->root, "token", "tok-1234\ntok-5678\n");
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	assert_non_null(strstr(fx->err.msg, "has a control character in the token (byte 9)"));
	assert_null(strstr(fx->err.msg, "tok-"));

	/* the file wins over the variable, whose token is never shown */
	write_file(fx->root, "token", "tok-1234\r\n");
	o.git_token = "tok-\x01";
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	assert_memory_equal(fx->err.msg, "cannot fetch \"https://127.0.0.1:1/fleet.git\": ",
			    strlen("cannot fetch \"https://127.0.0.1:1/fleet.git\": "));
	o.git_token_file = NULL;
	reset(fx);
	assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err), -1);
	assert_string_equal(fx->err.msg, "BERTH_GIT_TOKEN has a control character in the "
			    "token (byte 5): want the token alone on one line");
	free(file);
	free(url);
}

static void
test_remote_bad_url(void **state)
{
	struct fx *fx = *state;
	char *url = xasprintf("file://%s/nope", fx->root);
	char *want = xasprintf("cannot fetch \"%s\": ", url);

	assert_int_equal(load_opts(fx, url, NULL, NULL, 0), -1);
	assert_memory_equal(fx->err.msg, want, strlen(want));
	assert_true(strlen(fx->err.msg) > strlen(want));
	assert_int_equal(fx->files.n, 0);
	assert_int_equal(fx->files.fetched, 0);
	free(want);

	{
		struct source_opts o = { .repo = url };

		reset(fx);
		assert_int_equal(source_load(&o, &fx->files, &fx->d, &fx->err),
				 -1);
		want = xasprintf("no state directory for the cache of remote "
				 "repository \"%s\"", url);
		assert_string_equal(fx->err.msg, want);
		free(want);
	}
	free(url);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_ref, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_repository, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sorting_and_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_path_with_colon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subdirectory_and_bare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worktree_plain_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_target_quoted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submodule_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_file_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree_bomb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_bad_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_token, setup, teardown),
	};
	char *home = tmp_template("berth-test-source-home");
	int rc;

	/* neither git nor libgit2 may read the user's configuration */
	if (!mkdtemp(home))
		return 1;
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", home, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	unsetenv("GIT_DIR");
	unsetenv("GIT_WORK_TREE");
	source_global_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	source_global_shutdown();
	rm_tree(home);
	free(home);
	return rc;
}
