#!/usr/bin/env bash
# A git remote over HTTPS with a token, served by git-http-backend behind a
# real lighttpd on loopback, with a throwaway CA and HTTP basic
# authentication whose password is the token. The token comes from
# BERTH_GIT_TOKEN or a file readable by its owner only (--git-token-file,
# BERTH_GIT_TOKEN_FILE), goes as the password of the URL's user or of
# "x-access-token", once: a refusal is an authentication error, not a
# retry, and only to the server of the URL, over https: it is refused
# with http:// and after a redirect elsewhere, a URL with a password is refused
# without showing it, a certificate berth cannot verify is refused unless
# its CA is given (--git-ca, BERTH_GIT_CA), and the token is shown by no
# output and kept nowhere under the state directory.
. "$(dirname "$0")/lib.sh"

BACKEND=/usr/lib/git-core/git-http-backend
if ! command -v lighttpd >/dev/null || [ ! -e /usr/lib/lighttpd/mod_openssl.so ] ||
	! command -v openssl >/dev/null || [ ! -x "$BACKEND" ]; then
	echo "needs lighttpd, its mod_openssl, openssl and git-http-backend" \
		"(contrib/deps.sh installs lighttpd and lighttpd-mod-openssl)"; exit 77
fi
HTTPD_PID=
test_cleanup() {
	[ -z "$HTTPD_PID" ] || kill "$HTTPD_PID" 2>/dev/null
}
unset BERTH_GIT_TOKEN BERTH_GIT_TOKEN_FILE BERTH_GIT_CA

# The repository, bare, as a server holds it.
R=$T/work
new_repo "$R"
cp -r "$SOURCE_ROOT/examples/fleet/." "$R/"
commit "$R" fleet
git clone -q --bare "$R" "$T/fleet.git"

# A throwaway CA and the server's certificate for 127.0.0.1; another CA
# that signed nothing of the server's.
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec "$T/ca.key"
openssl req -x509 -new -key "$T/ca.key" -subj /CN=berth-test-ca -days 2 -out "$T/ca.crt"
ec "$T/other-ca.key"
openssl req -x509 -new -key "$T/other-ca.key" -subj /CN=berth-other-ca -days 2 -out "$T/other-ca.crt"
ec "$T/server.key"
openssl req -new -key "$T/server.key" -subj /CN=127.0.0.1 -out "$T/server.csr"
printf 'subjectAltName = IP:127.0.0.1, DNS:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n' > "$T/server.ext"
openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/server.ext" -out "$T/server.crt" 2>/dev/null

# The token, and users that may fetch with it: x-access-token (berth's
# default) and alice (a user named in the URL).
TOKEN=berthtok-$(openssl rand -hex 20)
WRONG=berthbad-$(openssl rand -hex 20)
hash=$(openssl passwd -apr1 "$TOKEN")
printf 'x-access-token:%s\nalice:%s\n' "$hash" "$hash" > "$T/htpasswd"

# lighttpd in the foreground, its config, pid, logs and documents in $T.
mkdir -p "$T/www"
PORT=$((20000 + RANDOM % 20000))
cat > "$T/lighttpd.conf" <<X
server.modules = ("mod_access", "mod_redirect", "mod_alias", "mod_auth", "mod_authn_file", "mod_setenv",
                  "mod_cgi", "mod_openssl")
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.pid-file = "$T/lighttpd.pid"
server.errorlog = "$T/lighttpd.log"
server.breakagelog = "$T/cgi.log"
ssl.engine = "enable"
ssl.pemfile = "$T/server.crt"
ssl.privkey = "$T/server.key"
url.redirect = ("^/moved\\.git/(.*)\$" => "https://localhost:$PORT/fleet.git/\$1",
                "^/here\\.git/(.*)\$" => "https://127.0.0.1:$PORT/fleet.git/\$1")
alias.url = ("/fleet.git" => "$BACKEND")
cgi.assign = ("" => "")
setenv.set-environment = ("GIT_PROJECT_ROOT" => "$T/fleet.git", "GIT_HTTP_EXPORT_ALL" => "1")
auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "$T/htpasswd"
auth.require = ("/" => ("method" => "basic", "realm" => "fleet", "require" => "valid-user"))
X
lighttpd -D -f "$T/lighttpd.conf" 2>"$T/lighttpd.out" &
HTTPD_PID=$!
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
wait_for 30 "lighttpd listens on $PORT" listening
URL="https://127.0.0.1:$PORT/fleet.git"

# The server works, for git itself, with the token as the password.
if GIT_SSL_CAINFO="$T/ca.crt" git ls-remote "https://x-access-token:$TOKEN@127.0.0.1:$PORT/fleet.git" \
	>"$T/ls-remote" 2>&1 && grep -q refs/heads/main "$T/ls-remote"; then
	pass "git ls-remote through lighttpd"
else
	fail "git ls-remote through lighttpd"; sed 's/^/    | /' "$T/ls-remote" "$T/lighttpd.log" "$T/cgi.log"
fi

# run NAME WANT-EXIT CMD...: expect, then neither token in what berth printed.
: > "$T/all"
run() {
	expect "$@"
	cat "$T/out" "$T/err" >> "$T/all"
	if grep -qF -e "$TOKEN" -e "$WRONG" "$T/out" "$T/err"; then
		fail "$1: the token is in the output"
	fi
}
# mismatches: how many passwords lighttpd has refused so far (its error log
# is written as it goes; its access log is not, so it cannot count 401s).
mismatches() { grep -c "password doesn't match" "$T/lighttpd.log" || true; }

# The token from BERTH_GIT_TOKEN, with the CA: the fetch goes through.
run "BERTH_GIT_TOKEN with --git-ca" 0 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --git-ca "$T/ca.crt" --repo "$URL" validate
has "it validates" "$T/err" "valid at commit"
run "BERTH_GIT_CA" 0 env BERTH_GIT_TOKEN="$TOKEN" BERTH_GIT_CA="$T/ca.crt" "$BERTH" -v --repo "$URL" validate
run "the user of the URL" 0 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --git-ca "$T/ca.crt" \
	--repo "https://alice@127.0.0.1:$PORT/fleet.git" validate
run "a user the server does not know" 1 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --git-ca "$T/ca.crt" \
	--repo "https://mallory@127.0.0.1:$PORT/fleet.git" validate
has "is refused as that user" "$T/err" "the server refused user \"mallory\" with the token of BERTH_GIT_TOKEN"

# The token from a file readable by its owner only.
printf '%s\n' "$TOKEN" > "$T/token"
chmod 0600 "$T/token"
run "--git-token-file 0600" 0 "$BERTH" --git-ca "$T/ca.crt" --git-token-file "$T/token" --repo "$URL" validate
run "BERTH_GIT_TOKEN_FILE" 0 env BERTH_GIT_TOKEN_FILE="$T/token" "$BERTH" --git-ca "$T/ca.crt" --repo "$URL" validate
run "--git-token-file over BERTH_GIT_TOKEN_FILE and BERTH_GIT_TOKEN" 0 \
	env BERTH_GIT_TOKEN_FILE="$T/nonesuch" BERTH_GIT_TOKEN="$WRONG" \
	"$BERTH" --git-ca "$T/ca.crt" --git-token-file "$T/token" --repo "$URL" validate
run "BERTH_GIT_TOKEN_FILE over BERTH_GIT_TOKEN" 0 env BERTH_GIT_TOKEN_FILE="$T/token" BERTH_GIT_TOKEN="$WRONG" \
	"$BERTH" --git-ca "$T/ca.crt" --repo "$URL" validate
cp "$T/token" "$T/open-token"
chmod 0644 "$T/open-token"
run "a token file others can read is refused" 1 "$BERTH" --git-ca "$T/ca.crt" --git-token-file "$T/open-token" --repo "$URL" validate
has "and says why" "$T/err" "git token file \"$T/open-token\" is mode 0644: want it readable by its owner only (chmod 600)"
: > "$T/empty-token"
chmod 0600 "$T/empty-token"
run "an empty token file is refused" 1 "$BERTH" --git-ca "$T/ca.crt" --git-token-file "$T/empty-token" --repo "$URL" validate
has "and says so" "$T/err" "git token file \"$T/empty-token\" is empty"

# No token: an authentication error at the first refusal (timeout: a
# hang fails this check, not the whole test), no password tried.
before=$(mismatches)
run "no token: refused" 1 timeout 60 "$BERTH" --git-ca "$T/ca.crt" --repo "$URL" validate
has "authentication failed, no token given" "$T/err" \
	"cannot fetch \"$URL\": authentication failed: the server wants credentials and no token was given"
n=$(( $(mismatches) - before ))
[ "$n" = 0 ] && pass "no token: no password sent" || fail "no token: $n passwords sent, want none"

# A wrong token: sent once, not again after the refusal, never shown.
before=$(mismatches)
run "a wrong token: refused" 1 timeout 60 env BERTH_GIT_TOKEN="$WRONG" "$BERTH" --git-ca "$T/ca.crt" --repo "$URL" validate
has "authentication failed, token given" "$T/err" \
	"cannot fetch \"$URL\": authentication failed: the server refused user \"x-access-token\" with the token of BERTH_GIT_TOKEN"
n=$(( $(mismatches) - before ))
[ "$n" = 1 ] && pass "a wrong token: sent once" || fail "a wrong token: sent $n times, want once"

# A redirect on the same server keeps the token; to another server (the
# same one, by another name, which its certificate has), no token for it.
run "a redirect on the same server" 0 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --git-ca "$T/ca.crt" \
	--repo "https://127.0.0.1:$PORT/here.git" validate
before=$(mismatches)
run "a redirect elsewhere: refused" 1 timeout 60 env BERTH_GIT_TOKEN="$WRONG" "$BERTH" --git-ca "$T/ca.crt" \
	--repo "https://127.0.0.1:$PORT/moved.git" validate
has "no token for another server" "$T/err" "refusing to send the token of BERTH_GIT_TOKEN to https://localhost:$PORT, where the server redirected: want https://127.0.0.1:$PORT"
n=$(( $(mismatches) - before ))
[ "$n" = 0 ] && pass "a redirect elsewhere: no token sent" || fail "a redirect elsewhere: a token sent $n times"

# A URL with a password: refused, the password not shown.
run "a URL with a password is refused" 1 "$BERTH" --git-ca "$T/ca.crt" \
	--repo "https://x-access-token:$TOKEN@127.0.0.1:$PORT/fleet.git" validate
has "shown redacted" "$T/err" "repository URL \"https://x-access-token:***@127.0.0.1:$PORT/fleet.git\" has a password in it"
has "pointing at BERTH_GIT_TOKEN" "$T/err" "give a token in BERTH_GIT_TOKEN or --git-token-file instead"

# http://: the token would go in clear.
run "a token with http:// is refused" 1 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --repo "http://127.0.0.1:$PORT/fleet.git" validate
has "and says why" "$T/err" "http:// would carry it in clear; want an https:// URL"

# A certificate berth cannot verify: refused before a token is sent (a
# wrong one here, which the server's log would show as refused).
before=$(mismatches)
run "without --git-ca: refused" 1 env BERTH_GIT_TOKEN="$WRONG" "$BERTH" --repo "$URL" validate
has "with a certificate error" "$T/err" "certificate error: the TLS certificate of 127.0.0.1 does not verify"
has "naming --git-ca" "$T/err" "give its certificate with --git-ca or BERTH_GIT_CA"
run "another CA: refused" 1 env BERTH_GIT_TOKEN="$WRONG" "$BERTH" --git-ca "$T/other-ca.crt" --repo "$URL" validate
has "with a certificate error" "$T/err" "certificate error: the TLS certificate of 127.0.0.1 does not verify"
n=$(( $(mismatches) - before ))
[ "$n" = 0 ] && pass "no token sent to an unverified server" || fail "a token sent $n times to an unverified server"
run "a missing CA file" 1 env BERTH_GIT_TOKEN="$TOKEN" "$BERTH" --git-ca "$T/nonesuch" --repo "$URL" validate
has "is named" "$T/err" "git CA \"$T/nonesuch\": No such file or directory"

# The token is kept nowhere: not in the cache's config, not in the state
# directory, not in anything berth printed.
cfgs=$(find "$BERTH_STATE/cache/git" -mindepth 2 -maxdepth 2 -name config | wc -l)
if [ "$cfgs" -gt 0 ] &&
	! find "$BERTH_STATE/cache/git" -mindepth 2 -maxdepth 2 -name config -exec cat {} + |
	grep -qF -e "$TOKEN" -e "$WRONG" -e url; then
	pass "the caches' configs hold no URL and no token ($cfgs caches)"
else
	fail "a cache's config holds a URL or a token"
fi
if grep -rqF -e "$TOKEN" -e "$WRONG" "$BERTH_STATE"; then
	fail "a token is under the state directory: $(grep -rlF -e "$TOKEN" -e "$WRONG" "$BERTH_STATE" | head -n 3)"
else
	pass "no token under the state directory"
fi
if grep -qF -e "$TOKEN" -e "$WRONG" "$T/all"; then fail "a token in berth's output"; else
	pass "no token in berth's output"; fi
finish
