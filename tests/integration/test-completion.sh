#!/usr/bin/env bash
# berth completion bash|zsh|fish: the scripts the build installs are what
# berth prints; bash's completes for real (the script sourced in a bash
# without startup files, COMP_WORDS and COMP_CWORD set, _berth called,
# COMPREPLY read): commands, options, subcommands, choices, files, and
# names from the manifests of the command line's --repo (or of the
# current directory) through the hidden `berth __complete`; fish's the
# same through `complete -C`; zsh's with compadd and _files standing in
# for zsh's own. zsh and fish parts are skipped when those shells are not
# installed.
. "$SOURCE_ROOT/tests/integration/lib.sh"

C=$BUILD_ROOT/contrib/completion
for s in bash:berth zsh:_berth fish:berth.fish; do
	"$BERTH" completion "${s%%:*}" >"$T/${s#*:}" &&
		cmp -s "$T/${s#*:}" "$C/${s#*:}" && pass "${s%%:*}: the built script is berth's" ||
		fail "${s%%:*}: $C/${s#*:} differs from berth completion ${s%%:*}"
done
expect "completion without a shell" 1 "$BERTH" completion
has "it wants a shell" "$T/err" "berth completion: want a shell: bash, zsh or fish"
expect "completion tcsh" 1 "$BERTH" completion tcsh
has "it names the shells" "$T/err" 'want bash, zsh or fish, have "tcsh"'
expect "berth --help" 0 "$BERTH" --help
grep -q __complete "$T/out" && fail "berth --help shows __complete" || pass "__complete is hidden"
expect "a typo is not completed to the hidden command" 1 "$BERTH" __complet
grep -q 'did you mean' "$T/err" && fail "suggests the hidden command" || pass "no suggestion of it"

# A fleet in a git repository: examples/fleet.
R=$T/repo
new_repo "$R"
cp -r "$SOURCE_ROOT/examples/fleet/." "$R/"
commit "$R" fleet
expect "__complete targets" 0 "$BERTH" --repo "$R" __complete targets
has "targets has a host" "$T/out" "Host/nix-01"
has "targets has a plan" "$T/out" "Plan/vps-s"
grep -q '^Provider/\|^Instance/' "$T/out" && fail "targets has kinds --target refuses" ||
	pass "targets has only kinds --target takes"
expect "__complete names" 0 "$BERTH" --repo "$R" __complete names Provider
[ "$(cat "$T/out")" = acme ] && pass "names Provider is acme" || fail "names Provider: $(cat "$T/out")"
expect "__complete of a remote repository" 1 "$BERTH" --repo https://git.example.invalid/fleet.git __complete targets
[ ! -s "$T/out" ] && [ ! -e "$BERTH_STATE/cache" ] && pass "a remote repository is not fetched" ||
	fail "a remote repository: $(cat "$T/out")"

# comp SHELL WORD...: what SHELL completes for the command line berth
# WORD... (the last word the one completed), one candidate a line, in
# $T/got; run in the directory $IN (default: the fleet's repository).
comp() {
	local shell=$1
	shift
	case $shell in
	bash)
		# shellcheck disable=SC2016
		(cd "${IN:-$R}" && bash --norc --noprofile -c '. "$1"; shift; COMP_WORDS=("$@")
			COMP_CWORD=$(($# - 1)); _berth; printf "%s\n" "${COMPREPLY[@]}"' \
			_ "$T/berth" "$BERTH" "$@") >"$T/got" 2>"$T/comp.err" ;;
	zsh)
		# compadd prints its candidates; zsh would then keep those that
		# match the word, which is left to the check here.
		cat >"$T/zsh-driver" <<'X'
compadd() { [[ $1 == -- ]] && shift; if [[ $1 == -a ]]; then print -l -- ${(P)2}; else print -l -- "$@"; fi }
_files() { print -- "(files)" }
script=$1; shift
words=("$@"); CURRENT=$#
source $script
X
		(cd "${IN:-$R}" && zsh -f "$T/zsh-driver" "$T/_berth" "$BERTH" "$@") >"$T/got" 2>"$T/comp.err" ;;
	fish)
		local line="berth $*"
		(cd "${IN:-$R}" && PATH=$T/bin:$PATH fish --no-config -c 'source $argv[1]; complete -C $argv[2]' \
			"$T/berth.fish" "$line" | cut -f1) >"$T/got" 2>"$T/comp.err" ;;
	esac
}
mkdir -p "$T/bin"
ln -s "$BERTH" "$T/bin/berth"

# completes SHELL "WORDS" CANDIDATE...: the candidates are among what SHELL
# completes for berth WORDS (a trailing space: an empty word completed).
completes() {
	local shell=$1 words=$2 want missing=
	shift 2
	# shellcheck disable=SC2086
	if [ "${words: -1}" = " " ]; then comp "$shell" $words ""; else comp "$shell" $words; fi
	for want in "$@"; do grep -qxF -- "$want" "$T/got" || missing="$missing $want"; done
	if [ -z "$missing" ]; then pass "$shell: berth $words<TAB> offers $*"; else
		fail "$shell: berth $words<TAB> lacks$missing; has: $(tr '\n' ' ' <"$T/got")"
		sed 's/^/    | /;5q' "$T/comp.err"
	fi
}
# lacks SHELL "WORDS" CANDIDATE...: none of them is offered.
lacks() {
	local shell=$1 words=$2 c extra=
	shift 2
	# shellcheck disable=SC2086
	if [ "${words: -1}" = " " ]; then comp "$shell" $words ""; else comp "$shell" $words; fi
	for c in "$@"; do grep -qxF -- "$c" "$T/got" && extra="$extra $c"; done
	[ -z "$extra" ] && pass "$shell: berth $words<TAB> does not offer $*" ||
		fail "$shell: berth $words<TAB> offers$extra"
}

# bash: the prefix is matched by the script (compgen).
completes bash "pl" plan place
lacks bash "pl" apply validate
completes bash "plan --ta" --target
completes bash "plan --target Host/" Host/nix-01 Host/nas-01 Host/acme-fra-1
lacks bash "plan --target Host/" Plan/vps-s
completes bash "apply --target " Cluster/clubcotton Pool/eu-west Image/debian-12 Plan/vps-s
IN=$T completes bash "--repo $R place --plan vps-" vps-s vps-m vps-l
IN=$T lacks bash "--repo $R place --plan vps-" Host/nix-01 vm-4
completes bash "settle --provider " acme
completes bash "host trust-command nix" nix-01 nix-02 nix-03
completes bash "agent run --host nas" nas-01
completes bash "ledger " list show verify checkpoint export backup
completes bash "ledger export --as " jsonl csv
completes bash "key r" rotate
completes bash "completion " bash zsh fish
completes bash "help val" validate
completes bash "--format " text json
completes bash "settle --format " csv text json
completes bash "validate --s" --strict --schema-only --state --ssh-key
completes bash "ledger backup $R/pl" "$R/plans.yaml"
completes bash "apply $R/pl" "$R/plans.yaml"
completes bash "--state $R/ho" "$R/hosts"
lacks bash "--state $R/ho" "$R/hosts/nix-01.yaml"
lacks bash "plan --parallel " Host/nix-01 "$R/plans.yaml"
# names from the --repo and --ref of the command line
IN=$T completes bash "--repo $R --ref HEAD plan --target Pool/" Pool/eu-west Pool/acme-fra
lacks bash "--repo $T/nowhere plan --target Pool/" Pool/eu-west
IN=$T lacks bash "plan --target Pool/" Pool/eu-west

if command -v zsh >/dev/null; then
	zsh -n "$T/_berth" && pass "zsh -n: the script parses" || fail "zsh -n"
	completes zsh "pl" plan place validate
	completes zsh "plan --ta" --target --prune --repo
	completes zsh "plan --target Host/" Host/nix-01 Plan/vps-s
	IN=$T completes zsh "--repo $R place --plan vps-" vps-s vm-4
	IN=$T lacks zsh "--repo $R place --plan vps-" Host/nix-01
	completes zsh "host trust-command n" nix-01 nas-01
	completes zsh "ledger " list backup
	completes zsh "ledger backup x" "(files)"
	completes zsh "--format " text json
else
	echo "zsh not installed: its script is not checked"
fi
if command -v fish >/dev/null; then
	fish -n "$T/berth.fish" && pass "fish -n: the script parses" || fail "fish -n"
	completes fish "pl" plan place
	completes fish "plan --ta" --target
	completes fish "plan --target Host/" Host/nix-01 Host/acme-fra-2
	IN=$T completes fish "--repo $R place --plan vps-" vps-s vps-m
	completes fish "host trust-command n" nix-01 nas-01
	completes fish "ledger " list show backup
	completes fish "completion " bash zsh fish
	completes fish "ledger backup $R/pl" "$R/plans.yaml"
	completes fish "--format " text json
else
	echo "fish not installed: its script is not checked"
fi
finish
