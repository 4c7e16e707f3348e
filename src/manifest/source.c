/*
 * source.c - the manifest files of one commit, of a work tree, or of a
 * remote repository fetched into the state directory's cache.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "manifest/allowed_signers.h"
#include "manifest/known_hosts.h"
#include "manifest/source.h"
#include "manifest/sshsig.h"
#include "manifest/yaml.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/fs.h"
#include "util/hex.h"
#include "util/xalloc.h"
#include "util/banned.h"

/*
 * Limits on what a tree or a directory may make us do: entries visited
 * (a tree may list the same subtree many times), depth of nesting, bytes
 * kept in memory altogether, and the length of a link target we quote.
 */
#define SOURCE_MAX_ENTRIES	1000000u
#define SOURCE_MAX_DEPTH	256u
#define SOURCE_MAX_TOTAL	((size_t)1024 * 1024 * 1024)
#define SOURCE_MAX_LINK		4096u

#define MSG_LINK "manifests are read from the commit and links are not followed"
#define MSG_SUBMODULE "manifests of another repository are not read"

struct loader {
	const struct source_opts *opts;
	const char *repo_name;	/* as asked: path or URL, for messages */
	const char *path;	/* normalised opts->path, "" for the root */
	struct src_files *files;
	struct diags *d;
	struct berr *err;
	git_repository *repo;
	git_odb *odb;		/* commit mode */
	git_index *index;	/* worktree mode with a repository */
	size_t nentries;
	size_t ncandidates;
	size_t total;
};

static int initialised;

void
source_global_init(void)
{
	if (!initialised) {
		git_libgit2_init();
		initialised = 1;
	}
}

void
source_global_shutdown(void)
{
	if (initialised) {
		git_libgit2_shutdown();
		initialised = 0;
	}
}

void
src_files_release(struct src_files *files)
{
	size_t i;

	if (!files)
		return;
	for (i = 0; i < files->n; i++) {
		free(files->v[i].path);
		free(files->v[i].data);
	}
	free(files->v);
	files->v = NULL;
	files->n = 0;
	files->alloc = 0;
	files->commit[0] = '\0';
	files->fetched = 0;
	free(files->signer);
	files->signer = NULL;
	files->signer_key[0] = '\0';
}

static const char *
git_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

/* Quote s (n bytes) as "...", escaping quotes, backslashes and controls. */
static void
quote(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addch(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addch(b, c);
	}
	buf_addch(b, '"');
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static int
is_manifest_name(const char *name)
{
	return has_suffix(name, ".yaml") || has_suffix(name, ".yml");
}

static char *
join(const char *dir, const char *name)
{
	return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

static int
cmp_file(const void *a, const void *b)
{
	const struct src_file *x = a, *y = b;

	return strcmp(x->path, y->path);
}

/*
 * Normalise a --path: drop "." components, empty components and the
 * trailing slash. Refuses absolute paths and "..". Caller frees *out.
 */
static int
normalise_path(const char *in, char **out, struct berr *err)
{
	struct buf b = BUF_INIT;
	const char *p = in ? in : "", *q;

	*out = NULL;
	if (*p == '/')
		return berr_set(err, "path \"%s\" is absolute: want a path "
				"relative to the repository root", in);
	while (*p) {
		size_t n;

		q = strchr(p, '/');
		n = q ? (size_t)(q - p) : strlen(p);
		if (n == 2 && memcmp(p, "..", 2) == 0) {
			buf_release(&b);
			return berr_set(err, "path \"%s\" leaves the repository: "
					"want a path without \"..\"", in);
		}
		if (n && !(n == 1 && *p == '.')) {
			if (b.len)
				buf_addch(&b, '/');
			buf_add(&b, p, n);
		}
		p += n;
		if (*p == '/')
			p++;
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

/* Count one entry visited; fails past SOURCE_MAX_ENTRIES. */
static int
count_entry(struct loader *l)
{
	if (++l->nentries > SOURCE_MAX_ENTRIES)
		return berr_set(l->err, "too many entries under \"%s\" in "
				"repository \"%s\": want at most %u",
				*l->path ? l->path : "/", l->repo_name,
				SOURCE_MAX_ENTRIES);
	return 0;
}

/*
 * Count one .yaml/.yml file of size len and check the limits on the number
 * of files and on the total size. Returns 1 if the file is to be read,
 * 0 if it is too big (reported in d), -1 on error.
 */
static int
admit_file(struct loader *l, const char *path, uintmax_t len)
{
	if (++l->ncandidates > SOURCE_MAX_FILES)
		return berr_set(l->err, "too many .yaml/.yml files in "
				"repository \"%s\": want at most %d",
				l->repo_name, SOURCE_MAX_FILES);
	if (len > YAML_MAX_FILE) {
		diags_add(l->d, DIAG_ERROR, path, 0, 0, "",
			  "file is %ju bytes, over the limit of %u bytes",
			  len, (unsigned)YAML_MAX_FILE);
		return 0;
	}
	if (len > SOURCE_MAX_TOTAL - l->total)
		return berr_set(l->err, "manifests of repository \"%s\" are too "
				"large: want at most %zu bytes in all",
				l->repo_name, SOURCE_MAX_TOTAL);
	l->total += (size_t)len;
	return 1;
}

/* Takes ownership of path and data. */
static void
add_file(struct loader *l, char *path, char *data, size_t len)
{
	struct src_files *f = l->files;

	ALLOC_GROW(f->v, f->n + 1, f->alloc);
	f->v[f->n].path = path;
	f->v[f->n].data = data;
	f->v[f->n].len = len;
	f->n++;
}

static void
refuse_link(struct loader *l, const char *path, const char *target,
	    size_t len, uintmax_t fulllen)
{
	struct buf q = BUF_INIT;

	quote(&q, target, len);
	if (fulllen > len)
		buf_addstr(&q, "...");
	diags_add(l->d, DIAG_ERROR, path, 0, 0, "",
		  "refusing symbolic link (to %s): " MSG_LINK, q.buf);
	buf_release(&q);
}

static void
refuse_submodule(struct loader *l, const char *path, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	diags_add(l->d, DIAG_ERROR, path, 0, 0, "",
		  "refusing submodule at commit %s: " MSG_SUBMODULE, hex);
}

/* ---- commit mode -------------------------------------------------------- */

static int
read_blob(struct loader *l, const git_oid *id, const char *path)
{
	git_blob *blob = NULL;
	git_object_t type;
	size_t len;
	char *data;
	int rc;

	if (git_odb_read_header(&len, &type, l->odb, id) < 0)
		return berr_set(l->err, "cannot read \"%s\" in repository "
				"\"%s\": %s", path, l->repo_name, git_msg());
	rc = admit_file(l, path, len);
	if (rc <= 0)
		return rc;
	if (git_blob_lookup(&blob, l->repo, id) < 0)
		return berr_set(l->err, "cannot read \"%s\" in repository "
				"\"%s\": %s", path, l->repo_name, git_msg());
	len = (size_t)git_blob_rawsize(blob);
	if (len > YAML_MAX_FILE) {	/* the header lied */
		git_blob_free(blob);
		return berr_set(l->err, "cannot read \"%s\" in repository "
				"\"%s\": object size changed", path,
				l->repo_name);
	}
	data = xmalloc(len + 1);
	memcpy(data, git_blob_rawcontent(blob), len);
	data[len] = '\0';
	git_blob_free(blob);
	add_file(l, xstrdup(path), data, len);
	return 0;
}

static int
read_link(struct loader *l, const git_oid *id, const char *path)
{
	git_blob *blob = NULL;
	git_object_t type;
	size_t len;

	if (git_odb_read_header(&len, &type, l->odb, id) < 0)
		return berr_set(l->err, "cannot read \"%s\" in repository "
				"\"%s\": %s", path, l->repo_name, git_msg());
	if (len > SOURCE_MAX_LINK) {
		refuse_link(l, path, "", 0, len);
		return 0;
	}
	if (git_blob_lookup(&blob, l->repo, id) < 0)
		return berr_set(l->err, "cannot read \"%s\" in repository "
				"\"%s\": %s", path, l->repo_name, git_msg());
	len = (size_t)git_blob_rawsize(blob);
	refuse_link(l, path, git_blob_rawcontent(blob),
		    len > SOURCE_MAX_LINK ? SOURCE_MAX_LINK : len, len);
	git_blob_free(blob);
	return 0;
}

/*
 * One entry of a tree that is not a tree. named: the entry was named
 * by --path, so anything but a manifest or a refused link or submodule
 * is an error.
 */
static int
visit_git_entry(struct loader *l, const git_tree_entry *e, const char *path,
		int named)
{
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_LINK:
		return read_link(l, git_tree_entry_id(e), path);
	case GIT_FILEMODE_COMMIT:
		refuse_submodule(l, path, git_tree_entry_id(e));
		return 0;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		if (is_manifest_name(git_tree_entry_name(e)))
			return read_blob(l, git_tree_entry_id(e), path);
		break;
	default:
		break;
	}
	if (named)
		return berr_set(l->err, "\"%s\" is a file, not a directory or "
				"a .yaml/.yml file", path);
	return 0;
}

struct pending_tree {
	git_tree *tree;
	char *prefix;
	unsigned depth;
};

/* Walk tree (at prefix) depth first without recursion. */
static int
walk_tree(struct loader *l, git_tree *root, const char *prefix)
{
	struct pending_tree *stack = NULL;
	size_t n = 0, alloc = 0, i;
	int rc = 0;

	ALLOC_GROW(stack, 1, alloc);
	stack[n].tree = root;
	stack[n].prefix = xstrdup(prefix);
	stack[n].depth = 0;
	n++;
	while (n && rc == 0) {
		struct pending_tree t = stack[--n];
		size_t count = git_tree_entrycount(t.tree);

		for (i = 0; i < count && rc == 0; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t.tree, i);
			char *path;
			git_tree *sub = NULL;

			/* Hidden entries (.github/, .gitlab-ci.yml) are not manifests. */
			if (git_tree_entry_name(e)[0] == '.')
				continue;
			path = join(t.prefix, git_tree_entry_name(e));

			if ((rc = count_entry(l)) < 0) {
				free(path);
				break;
			}
			if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
				rc = visit_git_entry(l, e, path, 0);
				free(path);
				continue;
			}
			if (t.depth + 1 > SOURCE_MAX_DEPTH) {
				rc = berr_set(l->err, "directories nested too "
					      "deeply at \"%s\": want at most %u "
					      "levels", path, SOURCE_MAX_DEPTH);
				free(path);
				break;
			}
			if (git_tree_lookup(&sub, l->repo,
					    git_tree_entry_id(e)) < 0) {
				rc = berr_set(l->err, "cannot read \"%s\" in "
					      "repository \"%s\": %s", path,
					      l->repo_name, git_msg());
				free(path);
				break;
			}
			ALLOC_GROW(stack, n + 1, alloc);
			stack[n].tree = sub;
			stack[n].prefix = path;
			stack[n].depth = t.depth + 1;
			n++;
		}
		if (t.tree != root)
			git_tree_free(t.tree);
		free(t.prefix);
	}
	while (n--) {
		if (stack[n].tree != root)
			git_tree_free(stack[n].tree);
		free(stack[n].prefix);
	}
	free(stack);
	return rc;
}

static int
unknown_revision(struct loader *l, const char *spec, int rc)
{
	if (rc == GIT_EAMBIGUOUS)
		return berr_set(l->err, "ambiguous revision \"%s\" in repository "
				"\"%s\": want more digits of the commit id",
				spec, l->repo_name);
	if (rc != GIT_ENOTFOUND && rc != GIT_EINVALIDSPEC)
		return berr_set(l->err, "cannot resolve revision \"%s\" in "
				"repository \"%s\": %s", spec, l->repo_name,
				git_msg());
	if (strcmp(spec, "HEAD") == 0 &&
	    git_repository_head_unborn(l->repo) == 1)
		return berr_set(l->err, "unknown revision \"HEAD\" in "
				"repository \"%s\": the repository has no "
				"commits yet", l->repo_name);
	return berr_set(l->err, "unknown revision \"%s\" in repository \"%s\": "
			"want a branch, tag or commit id", spec, l->repo_name);
}

/*
 * In the cache of a remote, branches live under refs/remotes/origin/ and
 * the default branch is refs/remotes/origin/HEAD. Rewrite a ref whose name
 * part (before any ~, ^ or @) is such a branch, unless a tag of that name
 * exists (git looks tags up before branches too). Caller frees.
 */
static char *
remote_spec(git_repository *repo, const char *ref)
{
	size_t n = strcspn(ref, "~^@:");
	char *name = xstrndup(ref, n), *full, *out = NULL;
	git_reference *r = NULL;

	if (n == 0 || strcmp(name, "HEAD") == 0) {
		out = xasprintf("refs/remotes/origin/HEAD%s", ref + n);
		goto out;
	}
	full = xasprintf("refs/tags/%s", name);
	if (git_reference_lookup(&r, repo, full) == 0) {
		free(full);
		goto out;
	}
	free(full);
	full = xasprintf("refs/remotes/origin/%s", name);
	if (git_reference_lookup(&r, repo, full) == 0)
		out = xasprintf("%s%s", full, ref + n);
	free(full);
out:
	git_reference_free(r);
	free(name);
	return out ? out : xstrdup(ref);
}

static int
resolve_commit(struct loader *l, int remote, git_commit **out)
{
	const char *spec = l->opts->ref && *l->opts->ref ? l->opts->ref : "HEAD";
	git_object *obj = NULL, *peeled = NULL;
	char *rewritten = remote ? remote_spec(l->repo, spec) : NULL;
	int rc;

	*out = NULL;
	rc = git_revparse_single(&obj, l->repo, rewritten ? rewritten : spec);
	free(rewritten);
	if (rc < 0) {
		if (remote && strcmp(spec, "HEAD") == 0 &&
		    (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC))
			return berr_set(l->err, "unknown revision \"HEAD\" in "
					"repository \"%s\": the remote has no "
					"default branch; want a branch, tag or "
					"commit id", l->repo_name);
		return unknown_revision(l, spec, rc);
	}
	if (git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		const char *what = "object";

		if (git_object_peel(&peeled, obj, GIT_OBJECT_ANY) == 0)
			what = git_object_type2string(git_object_type(peeled));
		else
			what = git_object_type2string(git_object_type(obj));
		git_object_free(peeled);
		git_object_free(obj);
		return berr_set(l->err, "revision \"%s\" in repository \"%s\" "
				"is a %s, not a commit", spec, l->repo_name,
				what);
	}
	git_object_free(obj);
	return 0;
}

/* A time for messages: "2026-01-31T12:00:00Z". */
static void
utc_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

/* Why an allowed signers line does not allow the key, or NULL. */
static char *
not_allowed(enum as_result r, const struct as_match *m, const char *file, int64_t when)
{
	char t[32], c[32];

	utc_time(when, c);
	switch (r) {
	case AS_NAMESPACE:
		return xasprintf("%s:%u allows it for other namespaces only, not \"git\"", file,
				 m->line);
	case AS_NOT_YET:
		utc_time(m->valid_after, t);
		return xasprintf("%s:%u allows it from %s (valid-after) and the commit's "
				 "committer time is %s", file, m->line, t, c);
	case AS_EXPIRED:
		utc_time(m->valid_before, t);
		return xasprintf("%s:%u allows it until %s (valid-before) and the commit's "
				 "committer time is %s", file, m->line, t, c);
	default:
		return NULL;
	}
}

/*
 * The signature of commit (hex id hex) against opts->allowed_signers; the
 * signer into l->files. 0 or -1 with l->err.
 */
static int
verify_commit(struct loader *l, git_commit *commit, const char *hex)
{
	const char *file = l->opts->allowed_signers;
	git_buf sig = GIT_BUF_INIT, data = GIT_BUF_INIT;
	struct sshsig s = SSHSIG_INIT;
	struct as_match m = { 0 };
	struct berr e;
	char fp[64], *text = NULL, *why = NULL;
	size_t len;
	int64_t when = (int64_t)git_commit_committer(commit)->when.time;
	int rc, r;

	rc = git_commit_extract_signature(&sig, &data, l->repo,
					  (git_oid *)git_commit_id(commit), NULL);
	if (rc == GIT_ENOTFOUND) {
		rc = berr_set(l->err, "commit %s is not signed: --verify-signatures wants it "
			      "signed with an SSH key of \"%s\"", hex, file);
		goto out;
	}
	if (rc < 0) {
		rc = berr_set(l->err, "cannot read the signature of commit %s: %s", hex,
			      git_msg());
		goto out;
	}
	if (strstr(sig.ptr, "-----BEGIN PGP SIGNATURE-----")) {
		rc = berr_set(l->err, "commit %s has an OpenPGP (gpg) signature, which berth "
			      "cannot verify: want an SSH signature (git -c gpg.format=ssh)", hex);
		goto out;
	}
	if (sshsig_parse(sig.ptr, sig.size, &s, &e) < 0) {
		rc = berr_set(l->err, "commit %s: want an SSH signature, have %s: %s", hex,
			      strstr(sig.ptr, "-----BEGIN SSH SIGNATURE-----") ?
			      "a malformed one" : "another kind", e.msg);
		goto out;
	}
	if (strcmp(s.ns, "git")) {
		rc = berr_set(l->err, "commit %s: signature namespace: want \"git\", have "
			      "\"%s\"", hex, s.ns);
		goto out;
	}
	ssh_key_fingerprint(s.key, s.keylen, fp);
	if (fs_read_file(file, 1 << 24, &text, &len, &e) < 0) {
		rc = berr_set(l->err, "allowed signers file: %s", e.msg);
		goto out;
	}
	r = allowed_signers_find(file, text, len, s.key, s.keylen, "git", when, &m, &e);
	if (r < 0) {
		rc = berr_set(l->err, "allowed signers file %s", e.msg);
		goto out;
	}
	if (r == AS_UNKNOWN) {
		rc = berr_set(l->err, "commit %s is signed by key %s (%s), which is not in the "
			      "allowed signers file \"%s\"", hex, fp, s.keytype, file);
		goto out;
	}
	if ((why = not_allowed(r, &m, file, when))) {
		rc = berr_set(l->err, "commit %s is signed by %s (%s), not allowed: %s", hex,
			      m.principals, fp, why);
		goto out;
	}
	if (sshsig_verify(&s, data.ptr, data.size, &e) < 0) {
		if (!strncmp(e.msg, "bad signature", 13))
			rc = berr_set(l->err, "commit %s: bad signature by %s (%s): the commit was "
				      "changed after it was signed, or the signature made for "
				      "another", hex, m.principals, fp);
		else
			rc = berr_set(l->err, "commit %s: signed by %s (%s): %s", hex,
				      m.principals, fp, e.msg);
		goto out;
	}
	l->files->signer = m.principals;
	m.principals = NULL;
	snprintf(l->files->signer_key, sizeof(l->files->signer_key), "%s", fp);
	rc = 0;
out:
	free(why);
	free(text);
	as_match_release(&m);
	sshsig_release(&s);
	git_buf_dispose(&sig);
	git_buf_dispose(&data);
	return rc;
}

static int
load_commit(struct loader *l, int remote)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL, *sub = NULL;
	git_tree_entry *e = NULL;
	char shortid[9];
	int rc;

	if (git_repository_odb(&l->odb, l->repo) < 0)
		return berr_set(l->err, "cannot open the objects of repository "
				"\"%s\": %s", l->repo_name, git_msg());
	if ((rc = resolve_commit(l, remote, &commit)) < 0)
		goto out;
	git_oid_tostr(l->files->commit, sizeof(l->files->commit),
		      git_commit_id(commit));
	git_oid_tostr(shortid, sizeof(shortid), git_commit_id(commit));
	if (l->opts->allowed_signers &&
	    (rc = verify_commit(l, commit, l->files->commit)) < 0)
		goto out;
	if ((rc = git_commit_tree(&tree, commit)) < 0) {
		rc = berr_set(l->err, "cannot read the tree of commit %s in "
			      "repository \"%s\": %s", shortid, l->repo_name,
			      git_msg());
		goto out;
	}
	if (!*l->path) {
		rc = walk_tree(l, tree, "");
		goto out;
	}
	rc = git_tree_entry_bypath(&e, tree, l->path);
	if (rc == GIT_ENOTFOUND) {
		rc = berr_set(l->err, "path \"%s\" not found in commit %s",
			      l->path, shortid);
		goto out;
	}
	if (rc < 0) {
		rc = berr_set(l->err, "cannot look up path \"%s\" in commit %s: "
			      "%s", l->path, shortid, git_msg());
		goto out;
	}
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		rc = visit_git_entry(l, e, l->path, 1);
		goto out;
	}
	if ((rc = git_tree_lookup(&sub, l->repo, git_tree_entry_id(e))) < 0) {
		rc = berr_set(l->err, "cannot read \"%s\" in repository \"%s\": "
			      "%s", l->path, l->repo_name, git_msg());
		goto out;
	}
	rc = walk_tree(l, sub, l->path);
out:
	git_tree_free(sub);
	git_tree_entry_free(e);
	git_tree_free(tree);
	git_commit_free(commit);
	return rc < 0 ? -1 : 0;
}

/* ---- worktree mode ------------------------------------------------------ */

/* Ignored by git and not tracked (a tracked file is never ignored). */
static int
wt_ignored(struct loader *l, const char *rel, int isdir)
{
	int ignored = 0;
	size_t pos;
	char *prefix;
	int tracked;

	if (!l->repo)
		return 0;
	if (git_ignore_path_is_ignored(&ignored, l->repo, rel) < 0 || !ignored)
		return 0;
	if (!isdir)
		return git_index_get_bypath(l->index, rel, 0) == NULL;
	prefix = xasprintf("%s/", rel);
	tracked = git_index_find_prefix(&pos, l->index, prefix) == 0;
	free(prefix);
	return !tracked;
}

static void
wt_refuse_link(struct loader *l, const char *full, const char *rel,
	       const struct stat *st)
{
	char target[SOURCE_MAX_LINK];
	ssize_t n = readlink(full, target, sizeof(target));

	if (n < 0) {
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
			  "refusing symbolic link: " MSG_LINK);
		return;
	}
	refuse_link(l, rel, target, (size_t)n,
		    (uintmax_t)st->st_size > (uintmax_t)n ?
		    (uintmax_t)st->st_size : (uintmax_t)n);
}

/*
 * A directory that the index records as a submodule (checked out or not)
 * or that holds a .git is another repository: report it and return 1.
 */
static int
wt_refuse_nested(struct loader *l, const char *full, const char *rel)
{
	const git_index_entry *ie = l->index ?
		git_index_get_bypath(l->index, rel, 0) : NULL;
	struct stat st;
	char *dotgit;
	int nested;

	if (ie && ie->mode == GIT_FILEMODE_COMMIT) {
		refuse_submodule(l, rel, &ie->id);
		return 1;
	}
	dotgit = xasprintf("%s/.git", full);
	nested = lstat(dotgit, &st) == 0;
	free(dotgit);
	if (nested)
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
			  "refusing nested repository: " MSG_SUBMODULE);
	return nested;
}

static const char *
file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a named pipe";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISDIR(m))
		return "a directory";
	return "something else";
}

static int
wt_read_file(struct loader *l, const char *full, const char *rel)
{
	struct buf b = BUF_INIT;
	struct stat st;
	size_t len;
	char *data;
	int fd, rc;

	fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP) {
			diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
				  "refusing symbolic link: " MSG_LINK);
			return 0;
		}
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "", "cannot open: %s",
			  strerror(errno));
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "", "cannot stat: %s",
			  strerror(errno));
		close(fd);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
			  "refusing file: want a regular file, have %s",
			  file_kind(st.st_mode));
		close(fd);
		return 0;
	}
	rc = admit_file(l, rel, (uintmax_t)st.st_size);
	if (rc <= 0) {
		close(fd);
		return rc;
	}
	buf_init(&b, YAML_MAX_FILE);
	if (fs_read_fd(fd, &b) < 0) {
		if (errno == EFBIG)
			diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
				  "file is more than %u bytes, over the limit "
				  "of %u bytes", (unsigned)YAML_MAX_FILE,
				  (unsigned)YAML_MAX_FILE);
		else
			diags_add(l->d, DIAG_ERROR, rel, 0, 0, "", "cannot read: %s",
				  strerror(errno));
		buf_release(&b);
		close(fd);
		return 0;
	}
	close(fd);
	data = buf_detach(&b, &len);
	add_file(l, xstrdup(rel), data, len);
	return 0;
}

/*
 * One directory entry at rel (full is its path on disk). Directories to
 * descend into are appended to *dirs.
 */
static int
wt_visit(struct loader *l, const char *full, const char *rel, int named,
	 char ***dirs, size_t *ndirs, size_t *adirs)
{
	struct stat st;
	const char *name = strrchr(rel, '/');

	name = name ? name + 1 : rel;
	if (lstat(full, &st) < 0) {
		if (named && errno == ENOENT)
			return berr_set(l->err, "path \"%s\" not found in the "
					"work tree of \"%s\"", rel,
					l->repo_name);
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "", "cannot stat: %s",
			  strerror(errno));
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!named && wt_ignored(l, rel, 1))
			return 0;
		if (wt_refuse_nested(l, full, rel))
			return 0;
		ALLOC_GROW(*dirs, *ndirs + 1, *adirs);
		(*dirs)[(*ndirs)++] = xstrdup(rel);
		return 0;
	}
	if (S_ISLNK(st.st_mode)) {
		if (named || !wt_ignored(l, rel, 0))
			wt_refuse_link(l, full, rel, &st);
		return 0;
	}
	if (!is_manifest_name(name)) {
		if (named)
			return berr_set(l->err, "\"%s\" is a file, not a "
					"directory or a .yaml/.yml file", rel);
		return 0;
	}
	if (!named && wt_ignored(l, rel, 0))
		return 0;
	if (!S_ISREG(st.st_mode)) {
		diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
			  "refusing file: want a regular file, have %s",
			  file_kind(st.st_mode));
		return 0;
	}
	if (st.st_size > (off_t)YAML_MAX_FILE) {
		/* counted and reported without opening it */
		return admit_file(l, rel, (uintmax_t)st.st_size) < 0 ? -1 : 0;
	}
	return wt_read_file(l, full, rel);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the directory rel under root; subdirectories go to *dirs. */
static int
wt_read_dir(struct loader *l, const char *root, const char *rel,
	    char ***dirs, size_t *ndirs, size_t *adirs)
{
	char *full = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *dir = NULL;
	int fd, rc = 0;

	fd = open(full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		if (!*rel)
			rc = berr_set(l->err, "cannot read directory \"%s\": %s",
				      root, strerror(errno));
		else
			diags_add(l->d, DIAG_ERROR, rel, 0, 0, "",
				  "cannot read directory: %s", strerror(errno));
		goto out;
	}
	while ((de = readdir(dir))) {
		/* ".", "..", ".git" and every other hidden entry */
		if (de->d_name[0] == '.')
			continue;
		if ((rc = count_entry(l)) < 0)
			goto out;
		ALLOC_GROW(names, n + 1, alloc);
		names[n++] = xstrdup(de->d_name);
	}
	/* a stable order for the diagnostics */
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		char *r = join(rel, names[i]);
		char *f = xasprintf("%s/%s", full, names[i]);

		rc = wt_visit(l, f, r, 0, dirs, ndirs, adirs);
		free(r);
		free(f);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (dir)
		closedir(dir);
	free(full);
	return rc;
}

static unsigned
depth_of(const char *rel)
{
	unsigned d = *rel ? 1 : 0;

	for (; *rel; rel++)
		if (*rel == '/')
			d++;
	return d;
}

static int
load_worktree(struct loader *l, const char *root)
{
	char **dirs = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;

	snprintf(l->files->commit, sizeof(l->files->commit), "worktree");
	if (*l->path) {
		char *full = xasprintf("%s/%s", root, l->path);

		rc = wt_visit(l, full, l->path, 1, &dirs, &n, &alloc);
		free(full);
	} else {
		ALLOC_GROW(dirs, 1, alloc);
		dirs[n++] = xstrdup("");
	}
	while (n && rc == 0) {
		char *rel = dirs[--n];

		if (depth_of(rel) > SOURCE_MAX_DEPTH)
			rc = berr_set(l->err, "directories nested too deeply at "
				      "\"%s\": want at most %u levels", rel,
				      SOURCE_MAX_DEPTH);
		else
			rc = wt_read_dir(l, root, rel, &dirs, &n, &alloc);
		free(rel);
	}
	while (n--)
		free(dirs[n]);
	free(dirs);
	return rc < 0 ? -1 : 0;
}

/* ---- opening repositories ----------------------------------------------- */

static int
open_local(struct loader *l)
{
	const char *path = l->opts->repo && *l->opts->repo ? l->opts->repo : ".";
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return berr_set(l->err, "repository \"%s\" not found: %s",
				path, strerror(errno));
	rc = git_repository_open_ext(&l->repo, path, 0, NULL);
	if (rc == GIT_ENOTFOUND) {
		l->repo = NULL;
		if (l->opts->worktree && S_ISDIR(st.st_mode))
			return 0;	/* a plain directory */
		return berr_set(l->err, "\"%s\" is not a git repository: want "
				"a repository or a directory in its work tree",
				path);
	}
	if (rc < 0)
		return berr_set(l->err, "cannot open repository \"%s\": %s",
				path, git_msg());
	return 0;
}

/* ---- remote repositories ------------------------------------------------ */

/* file://, http(s)://, ssh://, git:// or scp-like [user@]host:path. */
static int
is_url(const char *s)
{
	static const char *const schemes[] = {
		"file://", "http://", "https://", "ssh://", "git://",
	};
	size_t i, colon, slash;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncmp(s, schemes[i], strlen(schemes[i])) == 0)
			return 1;
	colon = strcspn(s, ":");
	slash = strcspn(s, "/");
	return s[colon] == ':' && colon > 0 && colon < slash && s[0] != '.';
}

int
source_is_remote(const char *repo)
{
	return is_url(repo ? repo : ".");
}


static char *
cache_dir(const char *state_dir, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[17];

	if (!EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 8)
		return NULL;
	hex_encode(md, 8, hex);
	return xasprintf("%s/cache/git/%s", state_dir, hex);
}

/* ---- https: tokens and certificates --------------------------------- */

#define TOKEN_MAX	16384u		/* bytes of a token file */
#define TOKEN_USER	"x-access-token"	/* GitHub's, also Gitea's and GitLab's */

static int
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Where the password of a URL scheme://user:password@host/... is: 1 with
 * [*start, *end) its bytes (maybe none: "user:@host"), 0 when the URL
 * has no password.
 */
static int
url_password(const char *url, size_t *start, size_t *end)
{
	const char *auth = strstr(url, "://"), *stop, *at = NULL, *colon, *p;

	if (!auth || strcspn(url, "/") < (size_t)(auth - url))
		return 0;
	auth += 3;
	stop = auth + strcspn(auth, "/?#");
	for (p = auth; p < stop; p++)
		if (*p == '@')
			at = p;	/* the last: a password may hold a raw '@' */
	if (!at || !(colon = memchr(auth, ':', (size_t)(at - auth))))
		return 0;
	*start = (size_t)(colon + 1 - url);
	*end = (size_t)(at - url);
	return 1;
}

/* A URL with a password is refused, and shown without it. */
static int
refuse_password(const char *url, struct berr *err)
{
	size_t start, end;

	if (!url_password(url, &start, &end))
		return 0;
	return berr_set(err, "repository URL \"%.*s***%s\" has a password in it: "
			"refusing it (a URL is shown in messages); %s", (int)start, url,
			url + end, has_prefix(url, "http") ?
			"give a token in BERTH_GIT_TOKEN or --git-token-file instead" :
			"use an SSH key (--ssh-key or the agent) instead");
}

/*
 * The host and port of a URL, without its user name and without the
 * default port of https, in [*start, *start + *len).
 */
static void
url_server(const char *url, const char **start, size_t *len)
{
	const char *a = strstr(url, "://"), *at, *stop;

	a = a ? a + 3 : url;
	stop = a + strcspn(a, "/?#");
	for (at = stop; at > a && at[-1] != '@'; at--)
		;
	if (stop - at > 4 && !memcmp(stop - 4, ":443", 4) && has_prefix(url, "https://"))
		stop -= 4;
	*start = at;
	*len = (size_t)(stop - at);
}

/* Whether url is https on the server of base (a redirect may go elsewhere). */
static int
same_server(const char *url, const char *base)
{
	const char *a, *b;
	size_t n, m;

	if (!has_prefix(url, "https://"))
		return 0;
	url_server(url, &a, &n);
	url_server(base, &b, &m);
	return n == m && !strncasecmp(a, b, n);
}

static void
token_free(char *token)
{
	if (token) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
}

/*
 * A token must be one line of printable characters (a newline inside
 * would end the Authorization header early). Says what is wrong, never
 * the token.
 */
static int
check_token(const char *token, const char *from, struct berr *err)
{
	const unsigned char *p;

	if (!*token)
		return berr_set(err, "%s is empty: want the token", from);
	for (p = (const unsigned char *)token; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return berr_set(err, "%s has a control character in the token "
					"(byte %zu): want the token alone on one line", from,
					(size_t)(p - (const unsigned char *)token) + 1);
	return 0;
}

/*
 * The token of opts->git_token_file (readable by its owner only, as ssh
 * wants a private key; the trailing newline dropped) or opts->git_token.
 * *token is NULL when neither is set; caller frees it with token_free().
 * *from says where it came from, for messages.
 */
static int
load_token(const struct source_opts *opts, char **token, char *from, size_t fromsize,
	   struct berr *err)
{
	const char *file = opts->git_token_file;
	struct stat st;
	char *t = NULL;
	size_t n = 0;
	ssize_t r;
	int fd = -1, rc = -1;

	*token = NULL;
	if (!file || !*file) {
		if (!opts->git_token || !*opts->git_token)
			return 0;
		snprintf(from, fromsize, "BERTH_GIT_TOKEN");
		if (check_token(opts->git_token, from, err) < 0)
			return -1;
		*token = xstrdup(opts->git_token);
		return 0;
	}
	snprintf(from, fromsize, "git token file \"%s\"", file);
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		berr_set(err, "%s: %s", from, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		berr_set(err, "%s is not a regular file: want a file holding the token", from);
		goto out;
	}
	if (st.st_mode & 077) {
		berr_set(err, "%s is mode %04o: want it readable by its owner only "
			 "(chmod 600)", from, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	t = xmalloc(TOKEN_MAX + 1);
	while (n <= TOKEN_MAX && (r = read(fd, t + n, TOKEN_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berr_set(err, "%s: %s", from, strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	if (n > TOKEN_MAX) {
		berr_set(err, "%s is over %u bytes: want the token alone", from, TOKEN_MAX);
		goto out;
	}
	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r'))
		n--;
	t[n] = '\0';
	if (check_token(t, from, err) < 0)
		goto out;
	*token = t;
	t = NULL;
	rc = 0;
out:
	if (t) {
		OPENSSL_cleanse(t, TOKEN_MAX + 1);
		free(t);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

struct cred_state {
	unsigned tries;
	const char *known_hosts;	/* opts->known_hosts */
	const char *ssh_key;		/* opts->ssh_key, checked */
	const char *url;
	const char *token;		/* for https, or NULL */
	const char *token_from;		/* where it came from */
	int token_sent;			/* once: a 401 is not retried */
	int tls_invalid;		/* a certificate did not verify */
	char host[256];			/* whose */
	char why[1024];			/* a refused host key or credential, said */
};

static const char *
ssh_key_type(git_cert_ssh_raw_type_t t)
{
	switch (t) {
	case GIT_CERT_SSH_RAW_TYPE_RSA: return "ssh-rsa";
	case GIT_CERT_SSH_RAW_TYPE_DSS: return "ssh-dss";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case GIT_CERT_SSH_RAW_TYPE_KEY_ED25519: return "ssh-ed25519";
	default: return NULL;
	}
}

/* The port of an ssh:// URL (22 otherwise, and for scp-like host:path). */
static int
url_port(const char *url)
{
	const char *h, *end, *colon;

	if (strncmp(url, "ssh://", 6))
		return 22;
	h = url + 6;
	end = h + strcspn(h, "/");
	if ((colon = memchr(h, '@', (size_t)(end - h))))
		h = colon + 1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		h = rb ? rb : h;
	}
	colon = memchr(h, ':', (size_t)(end - h));
	if (colon) {
		char *e;
		long v = strtol(colon + 1, &e, 10);

		if (e != colon + 1 && v > 0 && v < 65536)
			return (int)v;
	}
	return 22;
}

/* The known_hosts text to check against: the file given, else ssh's two. */
static char *
known_hosts_text(const char *file, size_t *len)
{
	struct buf b = BUF_INIT;
	const char *home = getenv("HOME");
	char *paths[2] = { NULL, NULL }, *data;
	struct berr err;
	size_t i, n;

	if (file) {
		paths[0] = xstrdup(file);
	} else {
		paths[0] = home ? xasprintf("%s/.ssh/known_hosts", home) : NULL;
		paths[1] = xstrdup("/etc/ssh/ssh_known_hosts");
	}
	for (i = 0; i < 2; i++) {
		if (paths[i] && fs_read_file(paths[i], 1 << 24, &data, &n, &err) == 0) {
			buf_add(&b, data, n);
			buf_addstr(&b, "\n");
			free(data);
		}
		free(paths[i]);
	}
	*len = b.len;
	return buf_detach(&b, NULL);
}

/*
 * An SSH remote's host key against known_hosts, as ssh checks it: unknown,
 * changed and revoked keys are refused (the reason in cs->why); an https
 * remote's certificate is left to libgit2's own verification.
 */
static int
certificate_check(git_cert *cert, int valid, const char *host, void *payload)
{
	struct cred_state *cs = payload;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	const char *type;
	char fp[64], *text, *line;
	size_t len;
	int port;
	enum kh_result r;

	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2) {
		/* TLS: libgit2 verified the chain and the name; never overrule it */
		if (valid)
			return 0;
		cs->tls_invalid = 1;
		snprintf(cs->host, sizeof(cs->host), "%s", host);
		return GIT_PASSTHROUGH;	/* refused, with libgit2's reason */
	}
	if (!(hk->type & GIT_CERT_SSH_RAW) || !(type = ssh_key_type(hk->raw_type))) {
		snprintf(cs->why, sizeof(cs->why), "the SSH server %s did not show a host key"
			 " berth can check", host);
		return GIT_ECERTIFICATE;
	}
	port = url_port(cs->url);
	text = known_hosts_text(cs->known_hosts, &len);
	r = known_hosts_check(text, len, host, port, type, (const unsigned char *)hk->hostkey,
			      hk->hostkey_len);
	free(text);
	if (r == KH_MATCH)
		return 0;
	ssh_key_fingerprint((const unsigned char *)hk->hostkey, hk->hostkey_len, fp);
	line = known_hosts_line(host, port, type, (const unsigned char *)hk->hostkey,
				hk->hostkey_len);
	if (r == KH_UNKNOWN)
		snprintf(cs->why, sizeof(cs->why), "the SSH host %s is not in %s: its %s key is"
			 " %s; if that is the server's, add this line: %s", host,
			 cs->known_hosts ? cs->known_hosts : "~/.ssh/known_hosts or"
			 " /etc/ssh/ssh_known_hosts", type, fp, line);
	else if (r == KH_CHANGED)
		snprintf(cs->why, sizeof(cs->why), "the SSH host key of %s has changed (%s %s):"
			 " someone may be impersonating the server; refusing it until the"
			 " known_hosts entry is corrected", host, type, fp);
	else
		snprintf(cs->why, sizeof(cs->why), "the SSH host key of %s is revoked (%s %s)",
			 host, type, fp);
	free(line);
	return GIT_ECERTIFICATE;
}

/*
 * HTTP basic authentication: the token, once, and only over https to the
 * server of the URL (libgit2 follows a redirect of the first request,
 * maybe elsewhere); then, or without a token, GIT_EUSER with the reason
 * in cs->why: libgit2 asks again after every 401.
 */
static int
userpass(struct cred_state *cs, git_credential **out, const char *url, const char *user)
{
	const char *name = user && *user ? user : TOKEN_USER;

	if (cs->token && !cs->token_sent && same_server(url, cs->url)) {
		cs->token_sent = 1;
		return git_credential_userpass_plaintext_new(out, name, cs->token);
	}
	if (cs->token && !cs->token_sent) {
		const char *a, *b;
		size_t n, m;

		url_server(url, &a, &n);
		url_server(cs->url, &b, &m);
		snprintf(cs->why, sizeof(cs->why), "refusing to send the token of %s to "
			 "%s%.*s, where the server redirected: want https://%.*s",
			 cs->token_from, has_prefix(url, "https://") ? "https://" : "http://",
			 (int)n, a, (int)m, b);
	}
	else if (cs->token)
		snprintf(cs->why, sizeof(cs->why), "authentication failed: the server "
			 "refused user \"%s\" with the token of %s", name, cs->token_from);
	else
		snprintf(cs->why, sizeof(cs->why), "authentication failed: the server "
			 "wants credentials and no token was given (BERTH_GIT_TOKEN or "
			 "--git-token-file)");
	git_error_clear();
	return GIT_EUSER;
}

/*
 * Default credentials: the deploy key given (opts->ssh_key), else the
 * ssh agent, for ssh; the user name of the URL
 * (or "git"); the token (userpass()), else Negotiate/NTLM, for http.
 * Three tries in all: libgit2 asks again after a refusal, and an agent
 * that is refused would be asked forever.
 */
static int
credentials(git_credential **out, const char *url, const char *user,
	    unsigned int allowed, void *payload)
{
	struct cred_state *cs = payload;

	if (++cs->tries > 3)
		return GIT_PASSTHROUGH;
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) &&
	    (cs->token || !(allowed & GIT_CREDENTIAL_DEFAULT)))
		return userpass(cs, out, url, user);
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user ? user : "git");
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && cs->ssh_key)
		return git_credential_ssh_key_new(out, user ? user : "git", NULL, cs->ssh_key,
						  NULL);
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out,
							 user ? user : "git");
	if (allowed & GIT_CREDENTIAL_DEFAULT)
		return git_credential_default_new(out);
	return GIT_PASSTHROUGH;
}

/*
 * Open the bare cache at dir, creating it when needed, and an in-memory
 * remote for url (nothing is written to the cache's configuration: the
 * directory name is the hash of the URL and the refspecs are passed to
 * each fetch). url.<base>.insteadOf is not applied: the URL fetched is
 * the URL given (and libgit2 1.5 leaks memory when it looks them up).
 */
static int
open_cache(struct loader *l, const char *dir, const char *url,
	   git_remote **remote)
{
	git_remote_create_options ro;

	/* a cache left half-made is made again: init keeps what is there */
	if (git_repository_open_bare(&l->repo, dir) < 0) {
		l->repo = NULL;
		if (mkdir_p(dir, l->err) < 0)
			return -1;
		if (git_repository_init(&l->repo, dir, 1) < 0)
			return berr_set(l->err, "cannot create the cache of "
					"\"%s\" at \"%s\": %s", url, dir,
					git_msg());
	}
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = l->repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
		   GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if (git_remote_create_with_opts(remote, url, &ro) < 0)
		return berr_set(l->err, "cannot fetch \"%s\": %s", url,
				git_msg());
	return 0;
}

/*
 * Fetch branches and tags (pruning what the remote deleted) and point
 * refs/remotes/origin/HEAD at the remote's default branch.
 */
static int
fetch(struct loader *l, git_remote *remote, const char *url)
{
	static char *specs[] = {
		"+refs/heads/*:refs/remotes/origin/*",
		"+refs/tags/*:refs/tags/*",
	};
	const git_strarray refspecs = { specs, 2 };
	git_fetch_options fo;
	git_buf head = { 0 };
	git_reference *ref = NULL;
	struct cred_state cs = { 0 };
	char *target = NULL, *token = NULL, from[PATH_MAX + 32];
	int rc = 0, https = has_prefix(url, "https://");

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.prune = GIT_FETCH_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.callbacks.credentials = credentials;
	fo.callbacks.certificate_check = certificate_check;
	fo.callbacks.payload = &cs;
	cs.known_hosts = l->opts->known_hosts;
	cs.url = url;
	if (l->opts->ssh_key) {
		struct stat st;

		/* as ssh refuses it: a private key others may read is not one */
		if (stat(l->opts->ssh_key, &st) < 0)
			return berr_set(l->err, "ssh key \"%s\": %s", l->opts->ssh_key,
					strerror(errno));
		if (st.st_mode & 077)
			return berr_set(l->err, "ssh key \"%s\" is mode %04o: want it readable"
					" by its owner only (chmod 600)", l->opts->ssh_key,
					(unsigned)(st.st_mode & 07777));
		cs.ssh_key = l->opts->ssh_key;
	}
	if (https) {
		if (load_token(l->opts, &token, from, sizeof(from), l->err) < 0)
			return -1;
		cs.token = token;
		cs.token_from = from;
	}
	if (https && l->opts->git_ca && *l->opts->git_ca) {
		if (access(l->opts->git_ca, R_OK) < 0) {
			rc = berr_set(l->err, "git CA \"%s\": %s", l->opts->git_ca,
				      strerror(errno));
			goto out;
		}
		if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, l->opts->git_ca,
				     NULL) < 0) {
			rc = berr_set(l->err, "git CA \"%s\": cannot load it: %s",
				      l->opts->git_ca, git_msg());
			goto out;
		}
	}
	if (git_remote_fetch(remote, &refspecs, &fo, "berth: fetch") < 0) {
		if (cs.why[0])
			rc = berr_set(l->err, "cannot fetch \"%s\": %s", url, cs.why);
		else if (cs.tls_invalid)
			rc = berr_set(l->err, "cannot fetch \"%s\": certificate error: the "
				      "TLS certificate of %s does not verify (%s); %s", url,
				      cs.host, git_msg(), l->opts->git_ca && *l->opts->git_ca ?
				      "it was checked against the CAs of --git-ca" :
				      "for a private CA, give its certificate with --git-ca "
				      "or BERTH_GIT_CA");
		else
			rc = berr_set(l->err, "cannot fetch \"%s\": %s", url, git_msg());
		goto out;
	}
	if (git_remote_default_branch(&head, remote) == 0 &&
	    strncmp(head.ptr, "refs/heads/", 11) == 0) {
		target = xasprintf("refs/remotes/origin/%s", head.ptr + 11);
		if (git_reference_symbolic_create(&ref, l->repo,
				"refs/remotes/origin/HEAD", target, 1,
				"berth: remote HEAD") < 0)
			rc = berr_set(l->err, "cannot record the default branch "
				      "of \"%s\": %s", url, git_msg());
	} else {
		/* no default branch now: do not keep an old one */
		git_reference_remove(l->repo, "refs/remotes/origin/HEAD");
	}
	git_error_clear();
out:
	git_reference_free(ref);
	git_buf_dispose(&head);
	free(target);
	token_free(token);
	return rc;
}

#define CACHE_LOCK_WAIT_MS 600000	/* for another berth's fetch */

static int
unlink_lockfile(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);

	(void)st;
	(void)ftw;
	if (type == FTW_F && n > 5 && !strcmp(path + n - 5, ".lock"))
		unlink(path);
	return 0;
}

/* The pid the holder of the lock wrote into it, or "unknown". */
static void
holder(int fd, char *pid, size_t size)
{
	ssize_t n = pread(fd, pid, size - 1, 0);

	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	if (!*pid)
		snprintf(pid, size, "unknown");
}

/*
 * The cache's own lock, <dir>.lock, held (flock) for the whole load: two
 * berth processes (a timer's reconcile, a CI plan) never fetch into one
 * cache at once, which libgit2 refuses half-way ("failed to lock file").
 * Another holder is waited for up to CACHE_LOCK_WAIT_MS. With the lock
 * held, lock files libgit2 left in the cache belong to a process that was
 * killed mid-fetch: they are removed, or every later fetch would fail.
 * Returns the descriptor (closing it releases the lock), or -1 with err.
 */
static int
lock_cache(struct loader *l, const char *dir, const char *url)
{
	char *path = xasprintf("%s.lock", dir), *parent = xstrdup(dir), *slash;
	char pid[32];
	int64_t start = clock_mono_ms(), waited = 0;
	int told = 0, fd = -1;

	if ((slash = strrchr(parent, '/')))
		*slash = '\0';
	if (mkdir_p(parent, l->err) < 0)
		goto out;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		berr_set(l->err, "cannot open the lock of the cache of \"%s\" (\"%s\"): %s",
			 url, path, strerror(errno));
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			berr_set(l->err, "cannot lock the cache of \"%s\" (\"%s\"): %s", url,
				 path, strerror(errno));
			goto fail;
		}
		if (waited >= CACHE_LOCK_WAIT_MS) {
			holder(fd, pid, sizeof(pid));
			berr_set(l->err, "the cache of \"%s\" is still locked by another berth"
				 " (pid %s) after %lld s: \"%s\"", url, pid,
				 (long long)(waited / 1000), path);
			goto fail;
		}
		if (waited >= 1000 && !told++ && l->opts->waiting) {
			char msg[300];

			holder(fd, pid, sizeof(pid));
			snprintf(msg, sizeof(msg), "waiting for another berth (pid %s) fetching "
				 "\"%s\" into the same cache", pid, url);
			l->opts->waiting(l->opts->waiting_arg, msg);
		}
		clock_sleep_ms(50);
		waited = clock_mono_ms() - start;	/* time, not naps: a loaded machine naps longer */
	}
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0) {
		/* the pid is only for messages */
	}
	nftw(dir, unlink_lockfile, 16, FTW_PHYS);
	goto out;
fail:
	close(fd);
	fd = -1;
out:
	free(path);
	free(parent);
	return fd;
}

#define MSG_CLEAR "http:// would carry it in clear; want an https:// URL"

static int
load_remote(struct loader *l, const char *url)
{
	const char *file = l->opts->git_token_file;
	git_remote *remote = NULL;
	char *dir = NULL;
	int rc, lock = -1;

	if (l->opts->worktree)
		return berr_set(l->err, "remote repository \"%s\" has no work "
				"tree: want a local path", url);
	if (!l->opts->state_dir || !*l->opts->state_dir)
		return berr_set(l->err, "no state directory for the cache of "
				"remote repository \"%s\"", url);
	if (has_prefix(url, "http://") && file && *file)
		return berr_set(l->err, "refusing to send the token of git token file \"%s\" "
				"to \"%s\": " MSG_CLEAR, file, url);
	if (has_prefix(url, "http://") && l->opts->git_token && *l->opts->git_token)
		return berr_set(l->err, "refusing to send the token of BERTH_GIT_TOKEN to "
				"\"%s\": " MSG_CLEAR, url);
	if (!(dir = cache_dir(l->opts->state_dir, url)))
		return berr_set(l->err, "cannot hash \"%s\" with SHA-256", url);
	if ((lock = lock_cache(l, dir, url)) < 0) {
		rc = -1;
		goto out;
	}
	if ((rc = open_cache(l, dir, url, &remote)) < 0)
		goto out;
	if ((rc = fetch(l, remote, url)) < 0)
		goto out;
	l->files->fetched = 1;
	rc = load_commit(l, 1);
out:
	git_remote_free(remote);
	if (lock >= 0)
		close(lock);
	free(dir);
	return rc;
}

int
source_load(const struct source_opts *opts, struct src_files *files,
	    struct diags *d, struct berr *err)
{
	struct loader l;
	char *path = NULL;
	const char *repo = opts->repo && *opts->repo ? opts->repo : ".";
	int rc;

	source_global_init();
	memset(&l, 0, sizeof(l));
	l.opts = opts;
	l.repo_name = repo;
	l.files = files;
	l.d = d;
	l.err = err;
	files->commit[0] = '\0';
	files->fetched = 0;
	files->signer = NULL;
	files->signer_key[0] = '\0';
	if (opts->worktree && opts->allowed_signers) {
		rc = berr_set(err, "the work tree is not a commit and has no signature: "
			      "--verify-signatures and --worktree do not go together");
		goto out;
	}
	if ((rc = normalise_path(opts->path, &path, err)) < 0)
		goto out;
	l.path = path;
	if (is_url(repo)) {
		if ((rc = refuse_password(repo, err)) < 0)
			goto out;
		rc = load_remote(&l, repo);
		goto out;
	}
	if ((rc = open_local(&l)) < 0)
		goto out;
	if (!opts->worktree) {
		rc = load_commit(&l, 0);
		goto out;
	}
	if (!l.repo) {
		rc = load_worktree(&l, repo);
		goto out;
	}
	if (git_repository_is_bare(l.repo)) {
		rc = berr_set(err, "repository \"%s\" is bare: want a "
			      "repository with a work tree", repo);
		goto out;
	}
	if (git_repository_index(&l.index, l.repo) < 0) {
		rc = berr_set(err, "cannot read the index of repository \"%s\": "
			      "%s", repo, git_msg());
		goto out;
	}
	{
		/* workdir ends in '/'; drop it so that joins read well */
		char *root = xstrdup(git_repository_workdir(l.repo));
		size_t n = strlen(root);

		if (n > 1 && root[n - 1] == '/')
			root[n - 1] = '\0';
		rc = load_worktree(&l, root);
		free(root);
	}
out:
	if (rc < 0) {
		src_files_release(files);
	} else if (files->n > 1) {
		qsort(files->v, files->n, sizeof(*files->v), cmp_file);
	}
	git_index_free(l.index);
	git_odb_free(l.odb);
	git_repository_free(l.repo);
	free(path);
	return rc < 0 ? -1 : 0;
}
