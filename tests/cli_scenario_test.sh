#!/bin/bash
# The walk-through of issue #3 through the `fieldledger` CLI, against a
# fieldledgerd on port 0 in a temporary directory: a commuting campaign over
# 4 districts and 8 towns; two inspectors record 20 findings offline and
# sync; the supervisor accepts, dismisses a duplicate, assigns with
# deadlines; unit officers rectify; one evaluation is unsatisfied (the case
# is reassigned); cases close; an overdue one is escalated; red and black
# lists are published; the inspectors pull and see their findings' status.
# Then evidence (issue #5): a photo with EXIF and a 3 MiB recording attached
# offline, uploaded by sync, downloaded byte-identical (the photo without its
# metadata) by the supervisor and the inspector; a damaged local copy is
# reported as DATA_LOSS and kept.
#
# usage: cli_scenario_test.sh FIELDLEDGERD FIELDLEDGER
set -euo pipefail
daemon=$1
fl=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/fieldledger-cli.XXXXXX")
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$daemon" --data_dir="$work/data" --listen=127.0.0.1:0 >"$work/d.log" 2>&1 &
pid=$!
server=
for _ in $(seq 1 100); do
  server=$(sed -n 's/^fieldledgerd: serving on \([^,]*\),.*/\1/p' "$work/d.log")
  [[ -n $server ]] && break
  kill -0 "$pid" 2>/dev/null || fail "fieldledgerd exited: $(cat "$work/d.log")"
  sleep 0.1
done
[[ -n $server ]] || fail "fieldledgerd did not start"
admin=(--server "$server" --admin-token-file "$work/data/admin.token")
office=(--home "$work/office")
unit() { echo --home "$work/unit-$1"; }

# Registry: a city, 4 districts, 2 towns each (one unit per town).
$fl admin region add --id city --name 市 "${admin[@]}" >/dev/null
$fl admin category add --id commuting --name 走读 "${admin[@]}" >/dev/null
units=()
for d in 1 2 3 4; do
  $fl admin region add --id "d$d" --name "第${d}区" --parent city "${admin[@]}" >/dev/null
  for t in 1 2; do
    $fl admin unit add --id "t$d$t" --name "第${d}区第${t}镇政府" --region "d$d" "${admin[@]}" >/dev/null
    units+=("t$d$t")
  done
done

# Enrollment: two inspectors, the city's supervisor, an officer per unit.
pseudonyms=()
for i in 1 2; do
  code=$($fl admin enroll-code --role inspector "${admin[@]}" 2>/dev/null)
  out=$($fl --home "$work/insp$i" enroll "$code" --server "$server")
  pseudonyms+=("$(sed -n 's/^enrolled as \(i-[0-9a-f]*\) .*/\1/p' <<<"$out")")
done
[[ -n ${pseudonyms[0]} && -n ${pseudonyms[1]} ]] || fail "no pseudonyms"
code=$($fl admin enroll-code --role supervisor --scope city "${admin[@]}" 2>/dev/null)
$fl "${office[@]}" enroll "$code" --server "$server" >/dev/null
for u in "${units[@]}"; do
  code=$($fl admin enroll-code --role unit-officer --scope "$u" "${admin[@]}" 2>/dev/null)
  $fl $(unit "$u") enroll "$code" --server "$server" >/dev/null
done
$fl admin enroll-code --role unit-officer --scope nowhere "${admin[@]}" 2>"$work/err" && fail "unknown scope accepted"
grep -q 'scope: no unit "nowhere"' "$work/err" || fail "scope error: $(cat "$work/err")"

$fl "${office[@]}" campaign add --id 2026-09-commuting --name "走读专项暗访（4区8镇）" \
  --categories commuting --units "$(IFS=,; echo "${units[*]}")" \
  --start "$(date -u +%F)" --end "$(date -u +%F)" \
  --inspectors "${pseudonyms[0]},${pseudonyms[1]}" >/dev/null
$fl "${office[@]}" campaign list | grep -q 2026-09-commuting || fail "campaign missing"

# The inspectors pull the registry, record 20 findings (recording needs no
# server), then sync.
for i in 1 2; do
  $fl --home "$work/insp$i" sync >/dev/null
  $fl --home "$work/insp$i" registry | grep -q 2026-09-commuting || fail "inspector $i not told of the campaign"
done
ids=()
for n in $(seq 0 19); do
  i=$((n % 2 + 1))
  u=${units[$((n % 8))]}
  ids+=("$($fl --home "$work/insp$i" finding add --unit "$u" --category commuting --summary "工作日无人在岗 #$n")")
done
for i in 1 2; do
  $fl --home "$work/insp$i" sync | grep -q "pushed 10 mutations: 10 accepted" || fail "sync of inspector $i"
done
count=$($fl "${office[@]}" case list --status reported --page-size 500 | grep -c "reported")
[[ $count -eq 20 ]] || fail "want 20 reported cases, got $count"

# Triage: #8 (unit t11, like #0) duplicates #0.
dup=${ids[8]}
$fl "${office[@]}" case dismiss "$dup" --reason duplicate --duplicate-of "${ids[0]}" --note 重复 >/dev/null
for n in $(seq 0 7); do
  id=${ids[$n]}
  $fl "${office[@]}" case accept "$id" --version 1 >/dev/null
  deadline=$(date -d '+30 days' +%F)
  # Case #7 gets a deadline a few seconds away, to become overdue.
  [[ $n -eq 7 ]] && deadline=$(date -d '+3 seconds' --iso-8601=seconds)
  $fl "${office[@]}" case assign "$id" --unit "${units[$n]}" --person 李四 --post 镇长 \
    --deadline "$deadline" --mechanism top-leader --by 区委书记 >/dev/null
done
# A stale version is refused and changes nothing.
$fl "${office[@]}" case accept "${ids[0]}" --version 1 2>"$work/err" && fail "stale version accepted"
grep -q "expected 1" "$work/err" || fail "stale: $(cat "$work/err")"

# Units rectify their own cases only; they never see the pseudonym.
for n in $(seq 0 5); do
  $fl $(unit "${units[$n]}") case rectify "${ids[$n]}" --text "已建立值班制度" >/dev/null
done
$fl $(unit t11) case rectify "${ids[1]}" --text x 2>"$work/err" && fail "foreign rectification"
grep -q "no case" "$work/err" || fail "foreign: $(cat "$work/err")"
$fl "${office[@]}" case show "${ids[0]}" | grep -q "i-" || fail "supervisor sees the reporter"
for p in "${pseudonyms[@]}"; do
  $fl $(unit t11) case show "${ids[0]}" | grep -q "$p" && fail "unit officer sees the reporter"
  $fl $(unit t11) case list | grep -q "$p" && fail "unit officer list shows the reporter"
done
$fl $(unit t11) case list | grep -q "${ids[1]}" && fail "unit t11 sees t12's case"

# Evaluation: #0 unsatisfied (reassigned), the rest closed.
$fl "${office[@]}" case evaluate "${ids[0]}" --rating unsatisfied --comment 不彻底 \
  --new-deadline "$(date -d '+60 days' +%F)" >/dev/null
$fl "${office[@]}" case show "${ids[0]}" | grep -q "assigned" || fail "not reassigned"
for n in $(seq 1 5); do
  $fl "${office[@]}" case evaluate "${ids[$n]}" --rating satisfied >/dev/null
  $fl "${office[@]}" case close "${ids[$n]}" --note 销号备案 >/dev/null
done

# Overdue: #7's deadline passes; it is the one `--overdue` lists.
for _ in $(seq 1 100); do
  $fl "${office[@]}" case list --overdue | grep -q "${ids[7]}" && break
  sleep 0.1
done
overdue=$($fl "${office[@]}" case list --overdue)
grep -q "${ids[7]}" <<<"$overdue" || fail "no overdue case"
[[ $(grep -c overdue <<<"$overdue") -eq 1 ]] || fail "overdue: $overdue"
$fl "${office[@]}" case escalate "${ids[7]}" --kind talk --subject 镇长 --detail 约谈 >/dev/null

$fl "${office[@]}" lists publish --kind red --period 2026-Q4 --unit t12 --reason 整改迅速 --cases "${ids[1]}" >/dev/null
$fl "${office[@]}" lists publish --kind black --period 2026-Q4 --unit t42 --reason 逾期未整改 --cases "${ids[7]}" >/dev/null
[[ $($fl "${office[@]}" lists show --period 2026-Q4 | grep -c 2026-Q4) -eq 2 ]] || fail "lists"

# Reports (issue #6): 20 reported, #8 a duplicate, 8 assigned, 6
# rectification reports, 5 closed on time, #0 unsatisfied, #7 overdue and
# escalated.
col() {  # col CSV-LINE HEADER-LINE NAME: the field NAME of a report CSV row
  /usr/bin/env python3 -c 'import csv,sys; h=next(csv.reader([sys.argv[2]])); r=next(csv.reader([sys.argv[1]])); print(r[h.index(sys.argv[3])])' "$1" "$2" "$3"
}
report=$($fl "${office[@]}" report --format csv)
header=$(head -1 <<<"$report")
total=$(grep '^TOTAL,' <<<"$report")
for pair in CASES=20 ASSIGNED=8 RECTIFIED=6 CLOSED=5 RATE=62.5% OVERDUE=1 \
            DUPLICATES=1 TALKS=1 UNSATISFIED=1 SATISFIED=5; do
  [[ $(col "$total" "$header" "${pair%=*}") == "${pair#*=}" ]] || fail "report total ${pair}: $report"
done
by_district=$($fl "${office[@]}" report --by region --level 1 --format csv)
[[ $(col "$(grep '^第4区,' <<<"$by_district")" "$(head -1 <<<"$by_district")" OVERDUE) == 1 ]] ||
  fail "district 4 overdue: $by_district"
table=$($fl "${office[@]}" report --by region,status --level 1)
grep -q "第1区 *assigned" <<<"$table" || fail "report table: $table"
$fl "${office[@]}" report --by month --format json | grep -q '"rows"' || fail "report json"
code=$($fl admin enroll-code --role supervisor --scope d1 "${admin[@]}" 2>/dev/null)
$fl --home "$work/d1" enroll "$code" --server "$server" >/dev/null
d1=$($fl --home "$work/d1" report --format csv)
[[ $(col "$(grep '^TOTAL,' <<<"$d1")" "$(head -1 <<<"$d1")" CASES) == 6 ]] || fail "district 1's report: $d1"
$fl --home "$work/d1" report --region d2 2>"$work/err" && fail "district 1 saw district 2"
grep -q "no region" "$work/err" || fail "d2: $(cat "$work/err")"
$fl --home "$work/d1" overdue | grep -q "${ids[7]}" && fail "district 1 sees district 4's overdue case"
$fl "${office[@]}" overdue | grep -q "${ids[7]}" || fail "overdue list"
$fl "${office[@]}" rank --by overdue | sed -n 3p | grep -q t42 || fail "rank by overdue"
$fl "${office[@]}" export --format csv --category commuting >"$work/cases.csv"
/usr/bin/env python3 - "$work/cases.csv" <<'PY' || fail "export: $(head -3 "$work/cases.csv")"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
assert len(rows) == 20, len(rows)
assert any(r['unit_name'] == '第1区第1镇政府' for r in rows)
assert any(r['rectification_text'] == '已建立值班制度' for r in rows)
PY
[[ $($fl "${office[@]}" export --format jsonl | wc -l) -eq 20 ]] || fail "jsonl export"
$fl admin rebuild-aggregates --check "${admin[@]}" | grep -q "differences: 0" || fail "aggregates differ"
$fl --home "$work/insp1" report 2>/dev/null && fail "an inspector got a report"

# The inspectors see their findings' status.
$fl --home "$work/insp1" sync >/dev/null
$fl --home "$work/insp1" findings > "$work/f1"
grep -q closed "$work/f1" || fail "inspector 1 sees no closed finding"
grep -q assigned "$work/f1" || fail "inspector 1 sees no assigned finding"
grep -q dismissed "$work/f1" || fail "inspector 1 sees no dismissed finding"
$fl --home "$work/insp1" case list 2>/dev/null && fail "an inspector listed cases"
$fl --home "$work/insp2" sync >/dev/null
$fl --home "$work/insp2" findings | grep -q closed || fail "inspector 2 sees no closed finding"
# Evidence: attached offline, pending until synced, then downloadable.
testdata=$(cd "$(dirname "$0")/../core/testdata" && pwd)
head -c 3145728 /dev/urandom >"$work/clip.m4a"
clip_sha=$(sha256sum "$work/clip.m4a" | cut -d' ' -f1)
photo_sha=$(sha256sum "$testdata/base.jpg" | cut -d' ' -f1)  # meta.jpg, stripped
eid=$($fl --home "$work/insp1" finding add --unit t11 --category commuting --summary 窗口无人 \
  --evidence "$testdata/meta.jpg" --evidence "$work/clip.m4a")
$fl --home "$work/insp1" findings | grep "$eid" | grep -q "evidence 0/2 uploaded, 0.0/3.0 MiB" \
  || fail "progress before sync: $($fl --home "$work/insp1" findings | grep "$eid")"
[[ -f $work/insp1/evidence/$photo_sha ]] || fail "the stripped photo is not in the device's store"
$fl --home "$work/insp1" sync >"$work/out" || fail "evidence sync: $(cat "$work/out")"
grep -q "uploaded 2 pieces of evidence (3.0 MiB)" "$work/out" || fail "evidence sync: $(cat "$work/out")"
$fl --home "$work/insp1" findings | grep "$eid" | grep -q "evidence 2/2 uploaded, 3.0/3.0 MiB" \
  || fail "progress after sync: $($fl --home "$work/insp1" findings | grep "$eid")"
[[ -z $(ls "$work/insp1/evidence") ]] || fail "local copies kept after upload"
$fl "${office[@]}" case show "$eid" >"$work/show"
grep -q "$clip_sha .*audio/mp4 .*complete" "$work/show" || fail "case show: $(cat "$work/show")"
grep -q pending "$work/show" && fail "evidence still pending: $(cat "$work/show")"
$fl "${office[@]}" evidence get "$clip_sha" --case "$eid" -o "$work/got.m4a" >/dev/null
cmp "$work/clip.m4a" "$work/got.m4a" || fail "the recording differs"
$fl --home "$work/insp1" evidence get "$photo_sha" --case "$eid" -o "$work/got.jpg" >/dev/null
cmp "$testdata/base.jpg" "$work/got.jpg" || fail "the photo is not meta.jpg stripped"
[[ ! -e $work/got.jpg.part ]] || fail ".part left behind"
$fl --home "$work/insp2" evidence get "$photo_sha" --case "$eid" -o "$work/x" 2>"$work/err" \
  && fail "another inspector downloaded"
grep -q "no case" "$work/err" || fail "foreign download: $(cat "$work/err")"
[[ ! -e $work/x ]] || fail "a refused download left a file"

# The unit's rectification report carries its own evidence, which the unit
# uploads; the inspector may not download it, the supervisor may.
$fl "${office[@]}" case accept "$eid" >/dev/null
$fl "${office[@]}" case assign "$eid" --unit t11 --person 李四 --post 镇长 \
  --deadline "$(date -d '+30 days' +%F)" --mechanism top-leader --by 区委书记 >/dev/null
head -c 100000 /dev/urandom >"$work/report.pdf"
ref=$($fl $(unit t11) evidence put "$work/report.pdf")
[[ $ref == "$(sha256sum "$work/report.pdf" | cut -d' ' -f1):application/pdf:100000" ]] || fail "evidence put: $ref"
$fl $(unit t11) case rectify "$eid" --text 已整改 --evidence "$ref" >/dev/null
$fl "${office[@]}" evidence get "${ref%%:*}" --case "$eid" -o "$work/got.pdf" >/dev/null
cmp "$work/report.pdf" "$work/got.pdf" || fail "the report's evidence differs"
$fl $(unit t11) case show "$eid" | grep -q "$clip_sha" && fail "the unit sees the inspector's evidence"
$fl --home "$work/insp1" evidence get "${ref%%:*}" --case "$eid" -o "$work/x" 2>"$work/err" \
  && fail "the inspector downloaded the unit's evidence"
grep -q "PERMISSION_DENIED\|shows you no evidence" "$work/err" || fail "inspector: $(cat "$work/err")"

# A damaged local copy: DATA_LOSS, kept, not uploaded.
printf 'a note' >"$work/note.txt"
note_sha=$(sha256sum "$work/note.txt" | cut -d' ' -f1)
nid=$($fl --home "$work/insp2" finding add --unit t12 --category commuting --summary 收费 \
  --evidence "$work/note.txt")
printf 'A note' >"$work/insp2/evidence/$note_sha"
$fl --home "$work/insp2" sync >"$work/out" 2>&1 && fail "a damaged copy synced: $(cat "$work/out")"
grep -q "evidence $note_sha: DATA_LOSS" "$work/out" || fail "damaged: $(cat "$work/out")"
[[ -f $work/insp2/evidence/$note_sha ]] || fail "the damaged copy was removed"
$fl "${office[@]}" case show "$nid" | grep -q "pending" || fail "not pending without its evidence"
echo "ok: cli scenario"
