#!/usr/bin/env bash
# berth ledger and berth unlock on a state directory of their own (no lab):
# entries are written by `berth unlock` breaking lock files left by dead
# processes; then list, show, verify, checkpoint and export, and each way
# of tampering with the ledger through the sqlite3 tool (after dropping the
# triggers) makes verify exit 1 naming the right entry.
. "$SOURCE_ROOT/tests/integration/lib.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 not installed"; exit 77; }

S=$BERTH_STATE
DB=$S/berth.db

# leave_lock ID: the holder line of a process that died (pid beyond pid_max).
leave_lock() {
	mkdir -p "$S"
	printf '{"id":"%s","pid":999999999,"host":"gone.example","since":"2026-01-01T00:00:00Z","command":"apply"}\n' \
		"$1" > "$S/apply.lock"
}

expect "verify an empty ledger" 0 "$BERTH" ledger verify
has "empty ledger head" "$T/out" "ok: 0 entries verify"
expect "list an empty ledger" 0 "$BERTH" ledger list

expect "unlock without a lock" 1 "$BERTH" unlock l-0000000000000000
has "unlock names the id" "$T/err" 'no lock has id "l-0000000000000000"'
leave_lock l-00000000000000ff
expect "unlock with the wrong id" 1 "$BERTH" unlock l-0000000000000000
has "wrong id names the lock" "$T/err" "the lock of $S is l-00000000000000ff"
for i in 1 2 3 4 5 6 7 8; do
	leave_lock "l-000000000000000$i"
	expect "unlock $i" 0 "$BERTH" unlock "l-000000000000000$i"
done
has "unlock says what it broke" "$T/out" "broke lock l-0000000000000008 of berth apply (pid 999999999 on host gone.example since 2026-01-01T00:00:00Z); ledger entry 8"
[ ! -e "$S/apply.lock" ] && pass "unlock removed the lock file" || fail "unlock removed the lock file"

mode=$(stat -c %a "$DB"); [ "$mode" = 600 ] && pass "berth.db is 0600" || fail "berth.db is $mode"
mode=$(stat -c %a "$S"); [ "$mode" = 700 ] && pass "state dir is 0700" || fail "state dir is $mode"

expect "list" 0 "$BERTH" ledger list
[ "$(wc -l < "$T/out")" = 8 ] && pass "list shows 8 entries" || fail "list shows $(wc -l < "$T/out") entries"
has "list line" "$T/out" "lock.break"
expect "list --limit 2 --kind" 0 "$BERTH" ledger list --limit 2 --kind lock.break --since 2020-01-01
[ "$(wc -l < "$T/out")" = 2 ] && pass "--limit 2" || fail "--limit 2 gave $(wc -l < "$T/out")"
has "--limit keeps the last" "$T/out" "l-0000000000000008"
expect "list --object" 0 "$BERTH" ledger list --object l-0000000000000003
has "--object" "$T/out" "l-0000000000000003"
expect "list --since bad" 1 "$BERTH" ledger list --since yesterday
has "--since message" "$T/err" "since: want a date or UTC time"
expect "list --checkpoint refused" 1 "$BERTH" ledger list --checkpoint 1:x
expect "unknown subcommand" 1 "$BERTH" ledger lsit
expect "list --format json" 0 "$BERTH" --format json ledger list
has "json entries" "$T/out" '"format_version": "1.0"'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["entries"])==8; assert d["entries"][2]["before"]["id"]=="l-0000000000000003"' "$T/out" \
	&& pass "json list parses" || fail "json list parses"

expect "show 3" 0 "$BERTH" ledger show 3
has "show kind" "$T/out" "lock.break"
has "show before" "$T/out" '"id": "l-0000000000000003"'
expect "show 99" 1 "$BERTH" ledger show 99
has "show missing" "$T/err" "no ledger entry has seq 99"
expect "show x" 1 "$BERTH" ledger show x
expect "show --format json" 0 "$BERTH" --format json ledger show 2
has "json entry" "$T/out" '"entry"'

expect "verify" 0 "$BERTH" ledger verify
has "verify head" "$T/out" "ok: 8 entries verify; head 8 "
expect "verify --format json" 0 "$BERTH" --format json ledger verify
has "verify json" "$T/out" '"ok": true'
expect "checkpoint" 0 "$BERTH" ledger checkpoint
CP=$(cat "$T/out")
[[ $CP =~ ^8:[0-9a-f]{64}$ ]] && pass "checkpoint form" || fail "checkpoint form: $CP"
has "checkpoint advice" "$T/err" "keep this line somewhere"
expect "verify --checkpoint" 0 "$BERTH" ledger verify --checkpoint "$CP"
has "extends" "$T/out" "the ledger extends checkpoint $CP"
expect "verify bad checkpoint syntax" 1 "$BERTH" ledger verify --checkpoint 8:abc

expect "export jsonl" 0 "$BERTH" ledger export
[ "$(wc -l < "$T/out")" = 8 ] && pass "export jsonl lines" || fail "export jsonl lines"
python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out" && pass "jsonl parses" || fail "jsonl parses"
expect "export csv" 0 "$BERTH" ledger export --as csv
has "csv header" "$T/out" "seq,time,actor,run_id,git_commit,kind,target,object,action,before,after,result,error,prev_hash,hash"
python3 -c 'import csv,sys; r=list(csv.reader(open(sys.argv[1], newline=""))); assert len(r)==9 and r[3][9].startswith("{")' "$T/out" \
	&& pass "csv parses" || fail "csv parses"
expect "export --as xml" 1 "$BERTH" ledger export --as xml

# Plain sqlite3 connections: the triggers refuse.
if sqlite3 "$DB" "UPDATE ledger SET actor = 'mallory' WHERE seq = 2" 2>"$T/err"; then
	fail "trigger refuses UPDATE"; else has "trigger refuses UPDATE" "$T/err" "append-only"; fi
if sqlite3 "$DB" "DELETE FROM ledger WHERE seq = 2" 2>"$T/err"; then
	fail "trigger refuses DELETE"; else has "trigger refuses DELETE" "$T/err" "append-only"; fi

# tamper NAME SQL WANT [VERIFY-ARGS...]: on a copy of the state directory.
DROP="DROP TRIGGER ledger_no_update; DROP TRIGGER ledger_no_delete; DROP TRIGGER ledger_append_only;"
tamper() {
	local name=$1 sql=$2 want=$3
	shift 3
	rm -rf "$T/copy"
	cp -a "$S" "$T/copy"
	sqlite3 "$T/copy/berth.db" "$DROP $sql"
	expect "tamper $name: verify fails" 1 env BERTH_STATE="$T/copy" "$BERTH" ledger verify "$@"
	has "tamper $name: names the entry" "$T/err" "$want"
	if [ "$(sqlite3 "$T/copy/berth.db" 'PRAGMA integrity_check')" = ok ]; then
		pass "tamper $name: integrity_check ok"; else fail "tamper $name: integrity_check"; fi
}

tamper edited "UPDATE ledger SET actor = 'mallory@x' WHERE seq = 5" \
	"entry 5 does not verify: edited (its hash does not match its contents)"
tamper deleted "DELETE FROM ledger WHERE seq = 4" \
	"entry 5 does not verify: deleted (seq 4 is missing)"
tamper deleted-renumbered "DELETE FROM ledger WHERE seq = 4; UPDATE ledger SET seq = seq - 1 WHERE seq > 4" \
	"entry 4 does not verify: deleted (it was written as seq 5 and the entry before it is missing"
tamper reordered "UPDATE ledger SET seq = -1 WHERE seq = 3; UPDATE ledger SET seq = 3 WHERE seq = 4; UPDATE ledger SET seq = 4 WHERE seq = -1" \
	"entries 3 and 4 are reordered (seq 3 holds the entry written as seq 4)"
tamper inserted-end "INSERT INTO ledger (seq, time, actor, kind, prev_hash, hash) VALUES (9, '2026-01-01T00:00:00.000Z', 'mallory@x', 'lock.break', '$(printf '1%.0s' {1..64})', '$(printf '2%.0s' {1..64})')" \
	"entry 9 does not verify: inserted (its prev_hash matches no entry)"
tamper inserted-middle "UPDATE ledger SET seq = seq + 100 WHERE seq >= 6; UPDATE ledger SET seq = seq - 99 WHERE seq >= 106; INSERT INTO ledger (seq, time, actor, kind, prev_hash, hash) SELECT 6, time, 'mallory@x', kind, hash, '$(printf '3%.0s' {1..64})' FROM ledger WHERE seq = 5" \
	"entry 6 does not verify: inserted (entry 7 was written as seq 6 and follows entry 5)"
tamper truncated "DELETE FROM ledger WHERE seq >= 7" \
	"entry 8 does not verify: deleted (the ledger ends at seq 6, the checkpoint names seq 8)" --checkpoint "$CP"

# Signed checkpoints: kept elsewhere, they prove the ledger still extends
# them even against someone who rewrites a row and recomputes every hash
# after it (which plain verify cannot see).
expect "signed checkpoint" 0 "$BERTH" ledger checkpoint --out "$T/cp.json"
has "it says where it went" "$T/err" "signed checkpoint of entry 8 written to $T/cp.json"
jq_true '.kind == "berth-ledger-checkpoint" and .seq == 8 and (.marks | length) == 8 and (.signer | test("^[0-9a-f]{64}$"))' "$T/cp.json" &&
	pass "the checkpoint holds the head and a mark per entry" || fail "checkpoint: $(head -c 300 "$T/cp.json")"
expect "verify against the signed checkpoint" 0 "$BERTH" ledger verify --checkpoint "$T/cp.json"
has "extends the file" "$T/out" "the ledger extends checkpoint $T/cp.json"
jq '.hash = "'"$(printf '0%.0s' {1..64})"'"' "$T/cp.json" > "$T/altered.json"
expect "an altered checkpoint is refused" 1 "$BERTH" ledger verify --checkpoint "$T/altered.json"
has "its signature" "$T/err" "the checkpoint's signature does not verify: it was altered after berth signed it"
mkdir -p "$T/other"
BERTH_STATE=$T/other "$BERTH" ledger checkpoint --out "$T/other.json" >/dev/null 2>&1
expect "another berth's checkpoint is refused" 1 "$BERTH" ledger verify --checkpoint "$T/other.json"
has "signed by another" "$T/err" "the checkpoint was signed by another berth"
printf '{"kind": "berth-ledger-checkpoint", "format_version": "1.0", "seq": "8"}' > "$T/bad.json"
expect "a malformed checkpoint file is refused" 1 "$BERTH" ledger verify --checkpoint "$T/bad.json"
has "what is wrong with it" "$T/err" '"seq" and "every": want integers'
# rewrite entry 5 and recompute every hash after it: plain verify passes
rm -rf "$T/copy"
cp -a "$S" "$T/copy"
sqlite3 "$T/copy/berth.db" "$DROP UPDATE ledger SET actor = 'mallory@x' WHERE seq = 5"
python3 - "$T/copy/berth.db" <<'PY'
import hashlib, json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cols = ["seq", "time", "actor", "run_id", "git_commit", "kind", "target", "object",
        "action", "before", "after", "result", "error", "prev_hash", "hash"]
rows = [dict(zip(cols, r)) for r in db.execute("SELECT %s FROM ledger ORDER BY seq" % ",".join(cols))]
def s(v): return "null" if v is None else json.dumps(v, ensure_ascii=False)
def raw(v): return "null" if v is None else v
prev = "0" * 64
for r in rows:
    if r["seq"] >= 5:
        text = ('{"action":%s,"actor":%s,"after":%s,"before":%s,"error":%s,"git_commit":%s,'
                '"kind":%s,"object":%s,"result":%s,"run_id":%s,"seq":%d,"target":%s,"time":%s}') % (
            s(r["action"]), s(r["actor"]), raw(r["after"]), raw(r["before"]), s(r["error"]),
            s(r["git_commit"]), s(r["kind"]), s(r["object"]), s(r["result"]), s(r["run_id"]),
            r["seq"], s(r["target"]), s(r["time"]))
        h = hashlib.sha256((prev + text).encode()).hexdigest()
        db.execute("UPDATE ledger SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r["seq"]))
        r["hash"] = h
    prev = r["hash"]
db.commit()
PY
expect "rewritten and recomputed: plain verify passes" 0 env BERTH_STATE="$T/copy" "$BERTH" ledger verify
expect "the signed checkpoint catches it" 1 env BERTH_STATE="$T/copy" "$BERTH" ledger verify --checkpoint "$T/cp.json"
has "and names the first entry that differs" "$T/err" "entry 5 is the first that differs from the checkpoint: rewritten, and every hash after it recomputed"

# The original is untouched and still verifies.
expect "verify after the tampering of copies" 0 "$BERTH" ledger verify --checkpoint "$CP"
[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ] && pass "integrity_check ok" || fail "integrity_check"
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = wal ] && pass "WAL mode" || fail "WAL mode"

# backup: a copy of berth.db as of one moment while a writer goes on
# (locks broken one after the other); it verifies on its own and its head
# is an entry of the live ledger.
mkdir -p "$T/backups"
( for i in $(seq 100 139); do
	leave_lock "l-0000000000000$i"
	"$BERTH" unlock "l-0000000000000$i" >/dev/null 2>&1 || exit 1
  done ) &
writer=$!
expect "backup while the ledger grows" 0 "$BERTH" ledger backup "$T/backups/b1.db"
has "it names the head it copied" "$T/out" "to $T/backups/b1.db: ledger head "
wait "$writer" && pass "the writer went on" || fail "the writer failed"
mode=$(stat -c %a "$T/backups/b1.db"); [ "$mode" = 600 ] && pass "the backup is 0600" || fail "the backup is $mode"
[ ! -e "$T/backups/b1.db-wal" ] && [ "$(sqlite3 "$T/backups/b1.db" 'PRAGMA journal_mode')" = delete ] &&
	pass "the backup is one file" || fail "the backup has a WAL"
mkdir -p "$T/restored" && chmod 700 "$T/restored" && cp "$T/backups/b1.db" "$T/restored/berth.db"
expect "the backup verifies on its own" 0 env BERTH_STATE="$T/restored" "$BERTH" ledger verify
bhead=$(sed -n 's/^ok: [0-9]* entries verify; head \([0-9]*\) \([0-9a-f]*\)$/\1 \2/p' "$T/out")
expect "live verify" 0 "$BERTH" ledger verify
lseq=$(sed -n 's/^ok: \([0-9]*\) entries.*/\1/p' "$T/out")
[ -n "$bhead" ] && [ "$(sqlite3 "$DB" "SELECT seq || ' ' || hash FROM ledger WHERE seq = ${bhead%% *}")" = "$bhead" ] &&
	pass "the backup's head ${bhead%% *} is the live ledger's entry (of $lseq)" ||
	fail "backup head '$bhead' is not in the live ledger"
expect "backup never overwrites" 1 "$BERTH" ledger backup "$T/backups/b1.db"
has "it says so" "$T/err" "exists: a backup never overwrites a file"
expect "backup into a missing directory" 1 "$BERTH" ledger backup "$T/nowhere/b.db"
has "it says where" "$T/err" "cannot create a file in \"$T/nowhere\""
expect "backup wants a file" 1 "$BERTH" ledger backup

finish
