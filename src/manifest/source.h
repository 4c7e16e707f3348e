/*
 * source.h - the manifest files of one commit (or of the work tree).
 *
 * Reads every regular blob named *.yaml or *.yml (case-sensitive) under
 * opts->path in the tree of opts->ref of the repository opts->repo through
 * libgit2, without a checkout. ref may be a branch, a tag (annotated tags
 * are peeled), a full or abbreviated commit id, or any revspec libgit2
 * understands (HEAD~1, main^2); NULL or "" means HEAD. files->commit is the
 * full hex id of the commit read.
 *
 * repo may be the work tree, a directory inside it, the .git directory or
 * a bare repository. path is always relative to the repository root ("."
 * components, doubled and trailing slashes are dropped; absolute paths and
 * ".." are errors). path may name a directory or one .yaml/.yml file; any
 * other file is an error. Hidden entries (names starting with '.', such as
 * .github/ or .gitlab-ci.yml) are skipped at every level below path: they
 * belong to other tools.
 *
 * With opts->worktree the files are read from the work tree instead
 * (modified and untracked files included; .git, nested repositories and
 * files ignored by git and not tracked left out) and commit is
 * "worktree"; ref is not used. repo may then also be a plain directory
 * that is not a git repository: paths are relative to it. A bare
 * repository has no work tree and is an error.
 *
 * A repo that is a URL (file://, http://, https://, ssh://, git://, or
 * scp-like [user@]host:path with no '/' before the ':'; write a local path
 * with a colon as ./a:b) is fetched into a bare cache under
 * <state_dir>/cache/git/<first 16 hex digits of the SHA-256 of the URL>
 * (directories made 0700), reused and updated by every load: branches go
 * to refs/remotes/origin/ and tags to refs/tags/, pruned, and
 * refs/remotes/origin/HEAD follows the remote's default branch. There a
 * ref "main" (or "main~1") means refs/remotes/origin/main unless a tag
 * "main" exists, and NULL/HEAD the default branch. files->fetched is 1.
 * ssh uses the ssh agent; url.*.insteadOf is not applied. A URL with a
 * password in it (https://user:secret@host/...) is refused, and the
 * message shows it as https://user:***@host/...: a token is given in
 * opts->git_token or opts->git_token_file instead. A failed fetch is
 * an error: the cache is never read stale. Loads of one URL take turns on
 * an flock of <cache>.lock (across processes; another holder is waited for
 * up to 10 minutes), and libgit2 lock files a killed fetch left in the
 * cache are removed once the lock is held.
 *
 * Symbolic links and submodules (gitlinks) anywhere under path are never
 * followed: each is reported in d as an error naming it (a link may point
 * at manifests outside the commit; a submodule is another repository):
 *   refusing symbolic link (to "<target>"): manifests are read from the
 *     commit and links are not followed
 *   refusing submodule at commit <hex id>: manifests of another repository
 *     are not read
 *   refusing nested repository: manifests of another repository are not
 *     read                                 (work tree, not a submodule)
 * Files larger than YAML_MAX_FILE are reported and skipped without being
 * loaded ("file is N bytes, over the limit of 4194304 bytes"). More than
 * SOURCE_MAX_FILES files is an error, and so are more than a million tree
 * entries visited, directories nested more than 256 deep and more than
 * 1 GiB of manifests in all.
 *
 * Files come back sorted by path (bytewise), paths relative to the repository
 * root, '/'-separated. Diagnostics name the same paths.
 *
 * With opts->allowed_signers the commit must be signed with an SSH key
 * (git -c gpg.format=ssh commit -S: an sshsig in the gpgsig header, see
 * sshsig.h) that the allowed signers file (allowed_signers.h) allows for
 * namespace "git" at the commit's committer time, and the signature must
 * verify; this is checked before the tree is read. Else it is an error
 * naming the commit: not signed; signed with OpenPGP (or another
 * non-SSH format); a malformed signature; a namespace other than "git";
 * a key not in the file (by its SHA256: fingerprint); a key allowed only
 * for other namespaces, only before or only after the committer time; an
 * unsupported key type; a bad signature (the commit was changed after it
 * was signed); an unreadable or malformed file ("FILE:LINE: want ...,
 * have ..."). files->signer and signer_key then name who signed: the
 * principals of the file's line and the key's fingerprint. With
 * opts->worktree it is an error: the work tree is not a commit.
 *
 * libgit2 refuses repositories owned by another user (its safe.directory
 * check); that is an error like any other failure to open.
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
	/*
	 * The known_hosts file an SSH remote's host key is checked against;
	 * NULL: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts. A key not
	 * there (unknown host), another key of its type (changed: a possible
	 * attack) or a revoked one is refused, and nothing is fetched.
	 */
	const char *known_hosts;
	/*
	 * The private key for SSH remotes (a deploy key; a timer has no
	 * agent), refused when its group or others may read it; NULL: the
	 * ssh agent.
	 */
	const char *ssh_key;
	/* The allowed signers file the commit's signature is checked against;
	 * NULL: signatures are not checked. */
	const char *allowed_signers;
	/*
	 * The token for https remotes, sent as the password of HTTP basic
	 * authentication (libgit2's user/password credential) with the user
	 * name of the URL, else "x-access-token", once: a refusal (401) is
	 * an error saying whether a token was given, never a retry; nor is it
	 * sent to another server a redirect leads to. From
	 * git_token_file when set (readable by its owner only, one line, the
	 * trailing newline dropped; empty is an error), else git_token;
	 * NULL: none. A token with an http:// URL is refused (it would go in
	 * clear); ssh, git and file URLs ignore it. Never in a message nor in
	 * the cache.
	 */
	const char *git_token;
	const char *git_token_file;
	/*
	 * The CA certificates (PEM) https remotes are verified against,
	 * for a private CA; NULL: the system's. A certificate that does not
	 * verify is refused either way.
	 */
	const char *git_ca;
	/* Called once when a load waits over a second for another berth's
	 * fetch into the same cache (msg says whose); may be NULL. */
	void (*waiting)(void *arg, const char *msg);
	void *waiting_arg;
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
	char *signer;		/* with allowed_signers: the principals that
				   signed (owned); else NULL */
	char signer_key[64];	/* and their key, "SHA256:..."; else "" */
};

#define SRC_FILES_INIT { NULL, 0, 0, "", 0, NULL, "" }

/*
 * files must be empty (SRC_FILES_INIT or released). Returns 0 on success
 * (per-file problems are in d), -1 when the manifests cannot be read at all
 * (no such repository, unknown ref, path not found, fetch failed, a limit
 * passed), with err set and files left empty. Caller releases files with
 * src_files_release(), which accepts NULL, SRC_FILES_INIT and a zeroed or
 * released struct. Calls source_global_init() if it was not called.
 */
int source_load(const struct source_opts *opts, struct src_files *files,
		struct diags *d, struct berr *err);
void src_files_release(struct src_files *files);

/* 1 when repo (NULL: ".") is a URL that source_load() would fetch. */
int source_is_remote(const char *repo);

/*
 * libgit2 must be initialised once per process; both are idempotent (a
 * second init does nothing until shutdown). Not thread-safe: call them from
 * main().
 */
void source_global_init(void);
void source_global_shutdown(void);

#endif
