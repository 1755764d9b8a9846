#!/bin/bash
# The model server's faults, limits and isolation, against a running cluster
# that preloads pg_lm:  tests/server/faults.sh SOCKET_DIR PORT DATA_DIR
#
#   - SIGKILL of the server while clients wait: each gets an ERROR within a
#     second, the server restarts, the next query works, the postmaster and a
#     bystander session are untouched;
#   - a crash inside model code (pg_lm.server_crash_test): the same;
#   - statement_timeout stops a long request within 200 ms, and the server
#     drops it;
#   - a process of another OS user cannot talk to the server;
#   - each database sees only its own models;
#   - drop and re-import under the same name while another session runs the
#     model: no errors but "does not exist", never weights of neither;
#   - pg_lm.device: 'cuda' without a usable GPU restarts the server, which logs
#     a WARNING with the reason and answers as before on the CPU; 'reference'
#     (the device code over host memory) moves GPT-2, Llama and BERT models
#     to it, with the backend's answers; back to 'cpu' at the end.
# Prints "server-tests: N passed, N failed".
set -u
HOST=$1; PORT=$2; DATA=$3
DB=pg_lm_server_faults
FIXTURES=${PG_LM_FIXTURES:?}; MODELS=${PG_LM_MODELS:?}
passed=0; failed=0
check() {	# check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
	else failed=$((failed + 1)); echo "FAILED - $1 ${3:-}"; fi
}
q() { psql -X -At -h "$HOST" -p "$PORT" -U postgres -d "${QDB:-$DB}" -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
now_ms() { date +%s%3N; }
server_pid() { q "SELECT pid FROM lm.server"; }
LOG="$DATA/../server.log"	# where scripts/cluster.sh has the server log

QDB=postgres q "DROP DATABASE IF EXISTS $DB" >/dev/null; QDB=postgres q "DROP DATABASE IF EXISTS ${DB}_2" >/dev/null
QDB=postgres q "CREATE DATABASE $DB" >/dev/null; QDB=postgres q "CREATE DATABASE ${DB}_2" >/dev/null
q "CREATE EXTENSION pg_lm" >/dev/null
q "SELECT lm_import('cap', '$MODELS/captions-gpt2'), lm_import('swap', '$FIXTURES/models/gpt2-tiny')" >/dev/null
QDB=${DB}_2 q "CREATE EXTENSION pg_lm" >/dev/null
QDB=${DB}_2 q "SELECT lm_import('cap', '$FIXTURES/models/gpt2-tiny')" >/dev/null

GEN="lm_generate('cap', 'A man in a', 12)"
expected=$(q "SELECT $GEN")
check "a query through the server" $([ -n "$expected" ] && ! grep -q ERROR <<<"$expected"; echo $?) "$expected"
start_time=$(q "SELECT pg_postmaster_start_time()")
restarts0=$(q "SELECT restarts FROM lm.server")

# A bystander session that lives through every fault below.
psql -X -At -h "$HOST" -p "$PORT" -U postgres -d "$DB" -c "SELECT pg_sleep(25), 'bystander survived'" >"$DATA/../bystander.out" 2>&1 &
bystander=$!

# ---- SIGKILL while four clients wait on it (two compute, two queue) -------------
# Each client sends one generation after another.  One whose connection happens
# to be idle at the kill (between two rows) is not waiting: it reconnects to the
# new server and goes on until its statement_timeout, which says so.
LONG="SELECT count(lm_generate('cap', 'A man', 24, 0.8, 0, 1.0, g)) FROM generate_series(1, 100000) g"
pids=()
for i in 1 2 3 4; do
	( q "SET statement_timeout = '6s'; $LONG" >"$DATA/../client$i.out" 2>&1; now_ms >"$DATA/../client$i.end" ) &
	pids+=($!)
done
sleep 1.5
victim=$(server_pid)
killed_at=$(now_ms); kill -9 "$victim"
wait "${pids[@]}"
waiting=0
for i in 1 2 3 4; do
	took=$(( $(cat "$DATA/../client$i.end") - killed_at ))
	if grep -q "statement timeout" "$DATA/../client$i.out"; then
		echo "# SIGKILL: client $i was between two requests at the kill: it went on with the new server"
		continue
	fi
	waiting=$((waiting + 1))
	check "SIGKILL: waiting client $i gets an ERROR within a second (${took} ms)" \
		$([ "$took" -lt 1000 ] && grep -q "model server ended" "$DATA/../client$i.out"; echo $?) "$(cat "$DATA/../client$i.out")"
done
check "SIGKILL: at least two of the four clients were waiting on the server ($waiting)" $([ "$waiting" -ge 2 ]; echo $?)
after=$(q "SELECT $GEN")
check "SIGKILL: the next query works, with the same answer" $([ "$after" = "$expected" ]; echo $?) "$after"
check "SIGKILL: a new server, restarts counted" \
	$([ "$(server_pid)" != "$victim" ] && [ "$(q "SELECT restarts FROM lm.server")" -gt "$restarts0" ]; echo $?)
if [ -r "$LOG" ]; then
	check "SIGKILL: the log says why" $(grep -q "pg_lm: the model server (pid $victim) was terminated by signal 9" "$LOG"; echo $?)
fi

# ---- a crash inside model code ------------------------------------------------------
before=$(server_pid)
q "ALTER SYSTEM SET pg_lm.server_crash_test = on" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 50); do [ "$(server_pid 2>/dev/null)" != "$before" ] && break; sleep 0.1; done
crashing=$(server_pid)
t0=$(now_ms)
out=$(q "SELECT lm_generate('cap', 'pg_lm-crash-test', 4)")
took=$(( $(now_ms) - t0 ))
check "crash in model code: an ERROR within a second (${took} ms)" \
	$([ "$took" -lt 1000 ] && grep -q "model server ended" <<<"$out"; echo $?) "$out"
q "ALTER SYSTEM RESET pg_lm.server_crash_test" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
after=$(q "SELECT $GEN")
check "crash in model code: the next query works" $([ "$after" = "$expected" ]; echo $?) "$after"
if [ -r "$LOG" ]; then
	check "crash in model code: the log says SIGSEGV" \
		$(grep -q "pg_lm: the model server (pid $crashing) was terminated by signal 11" "$LOG"; echo $?)
fi
check "faults: the postmaster did not restart" $([ "$(q "SELECT pg_postmaster_start_time()")" = "$start_time" ]; echo $?)

# ---- statement_timeout ----------------------------------------------------------------
t0=$(now_ms)
out=$(q "SET statement_timeout = '400ms'; $LONG")
took=$(( $(now_ms) - t0 ))
check "statement_timeout 400 ms stops a long request in ${took} ms (< 600)" \
	$([ "$took" -lt 600 ] && grep -q "statement timeout" <<<"$out"; echo $?) "$out"
sleep 0.2
check "statement_timeout: the server dropped the request" \
	$([ "$(q "SELECT coalesce(sum(running), 0) FROM lm.server_models")" = "0" ]; echo $?)

# ---- another OS user ------------------------------------------------------------------
probe() {	# connect and ask for the status: prints "answered" or why not
	python3 - "$1" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused:", e.strerror); sys.exit(0)
s.settimeout(5)
try:
    s.sendall(struct.pack("<III", 8, 3, 0))
    data = s.recv(4)
except OSError:
    data = b""
print("answered" if len(data) == 4 else "closed without answer")
PY
}
SOCK="$DATA/pg_lm/server.sock"
own=$(runuser -u postgres -- bash -c "$(declare -f probe); probe '$SOCK'" 2>&1)
check "the cluster's OS user is answered" $([ "$own" = answered ]; echo $?) "$own"
if [ "$(id -u)" = 0 ]; then
	other=$(runuser -u nobody -- bash -c "$(declare -f probe); probe '$SOCK'" 2>&1)
	check "another OS user cannot connect ($other)" $(grep -q "^refused" <<<"$other"; echo $?)
	root=$(probe "$SOCK")
	check "root, past the file permissions, is refused by the peer check ($root)" \
		$([ "$root" = "closed without answer" ]; echo $?)
else
	echo "skipped: another OS user's connection (needs root to switch users)"
fi

# ---- each database its own models --------------------------------------------------------
# both databases' "cap" have model id 1; the generations differ and each is its backend's
mine=$(QDB=${DB}_2 q "SELECT md5(lm_generate('cap', 'hello', 6))")
local_run=$(QDB=${DB}_2 q "SET pg_lm.execution = backend; SELECT md5(lm_generate('cap', 'hello', 6))" | tail -1)
theirs=$(q "SELECT md5(lm_generate('cap', 'hello', 6))")
check "two databases, same model id, each its own weights" \
	$([ "$(QDB=${DB}_2 q "SELECT id FROM _lm.model WHERE name = 'cap'")" = "$(q "SELECT id FROM _lm.model WHERE name = 'cap'")" ] \
	  && [ "$mine" = "$local_run" ] && [ "$theirs" != "$mine" ]; echo $?) "$mine $local_run $theirs"
check "lm.server_models lists only this database's models" \
	$([ "$(QDB=${DB}_2 q "SELECT string_agg(name, ',') FROM lm.server_models")" = "cap" ]; echo $?)

# ---- sequences decoded together give what each gives alone ------------------------------
SAMPLED="SELECT string_agg(md5(lm_generate('cap', 'A man in a', 32, 0.9, 40, 0.95, g)), ',' ORDER BY g) FROM generate_series(%d, %d) g"
steps0=$(q "SELECT coalesce(sum(decode_steps), 0) FROM lm.server_models WHERE name = 'cap'")
tokens0=$(q "SELECT coalesce(sum(mean_decode_batch * decode_steps), 0) FROM lm.server_models WHERE name = 'cap'")
pids=()
for i in 1 2 3 4 5 6; do
	q "$(printf "$SAMPLED" $((i * 100)) $((i * 100 + 14)))" >"$DATA/../together$i.out" &
	pids+=($!)
done
# while they run, lm.server_models shows how many generations the model has at once
most=0
for _ in $(seq 50); do
	n=$(q "SELECT coalesce(max(generating), 0) FROM lm.server_models WHERE name = 'cap'")
	[ "${n:-0}" -gt "$most" ] && most=$n
	[ "$most" -ge 3 ] && break
	sleep 0.1
done
wait "${pids[@]}"
check "lm.server_models.generating shows the generations running together (up to $most seen)" \
	$([ "$most" -ge 2 ]; echo $?)
same=0
for i in 1 2 3 4 5 6; do
	alone=$(q "SET pg_lm.execution = backend; $(printf "$SAMPLED" $((i * 100)) $((i * 100 + 14)))" | tail -1)
	[ "$alone" = "$(cat "$DATA/../together$i.out")" ] && same=$((same + 1))
done
check "6 clients sampling at once (90 generations): the texts the backend gives alone ($same of 6 clients)" \
	$([ "$same" = 6 ]; echo $?)
batch=$(q "SELECT round((sum(mean_decode_batch * decode_steps) - $tokens0) / nullif(sum(decode_steps) - $steps0, 0), 2) FROM lm.server_models WHERE name = 'cap'")
check "they were decoded together (mean $batch sequences a step)" $(awk -v b="${batch:-0}" 'BEGIN {exit !(b > 1.2)}'; echo $?)

# ---- classifications from several sessions run as one batch --------------------------------
# Two lists of "label number" or "number" items separated by , or ;: the same labels, and
# numbers within a relative TOL (batches of several inputs sum in another order).
close_lists() {	# close_lists A B TOL
	awk -v a="$1" -v b="$2" -v tol="$3" 'BEGIN {
		n = split(a, x, /[,; \/]/); m = split(b, y, /[,; \/]/)
		if (n != m || n == 0) exit 1
		for (i = 1; i <= n; i++) {
			if (x[i] ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/) {
				d = x[i] - y[i]; if (d < 0) d = -d
				s = y[i] < 0 ? -y[i] : y[i]; if (s < 1) s = 1
				if (d / s > tol) exit 1
			} else if (x[i] != y[i]) exit 1
		}
	}'
}
q "SELECT lm_import('sent', '$MODELS/sentiment-rt')" >/dev/null
# texts of some 60 tokens, enough of them that the four sessions overlap however their
# connections stagger (with 40 each, one run's mean batch was 1.19)
CLASSIFY="SELECT string_agg((SELECT string_agg(format('%%s %%s', label, score), ',')
                             FROM lm_classify_scores('sent', 'review ' || g || ':' || repeat(' %s.', 8))), ';' ORDER BY g)
          FROM generate_series(1, 100) g"
texts=("a fine, moving film" "dull and far too long" "the cast is wonderful" "I wanted my money back")
pids=()
for i in 0 1 2 3; do
	q "$(printf "$CLASSIFY" "${texts[$i]}")" >"$DATA/../classify$i.out" &
	pids+=($!)
done
wait "${pids[@]}"
same=0
for i in 0 1 2 3; do
	alone=$(q "SET pg_lm.execution = backend; $(printf "$CLASSIFY" "${texts[$i]}")" | tail -1)
	close_lists "$(cat "$DATA/../classify$i.out")" "$alone" 1e-5 && same=$((same + 1))
done
check "4 clients classifying at once (400 texts): the backend's labels, scores within 1e-5 ($same of 4)" \
	$([ "$same" = 4 ]; echo $?)
mean=$(q "SELECT mean_batch FROM lm.server_models WHERE name = 'sent'")
check "they ran in batches across the sessions (mean $mean requests a batch)" \
	$(awk -v b="${mean:-0}" 'BEGIN {exit !(b > 1.2)}'; echo $?)

# ---- scores from several sessions run as one batch ---------------------------------------
# enough calls that the four sessions overlap however their connections stagger
SCORE="SELECT string_agg(lm_score('cap', 'A %s ' || g || ' walks down a busy street.') || ',' ||
                         lm_perplexity('cap', 'the %s ' || g || ' sits on a bench in the park.'), ',' ORDER BY g)
       FROM generate_series(1, 100) g"
words=("dog" "woman in red" "group of people" "man")
pids=()
for i in 0 1 2 3; do
	q "$(printf "$SCORE" "${words[$i]}" "${words[$i]}")" >"$DATA/../score$i.out" &
	pids+=($!)
done
wait "${pids[@]}"
same=0
for i in 0 1 2 3; do
	alone=$(q "SET pg_lm.execution = backend; $(printf "$SCORE" "${words[$i]}" "${words[$i]}")" | tail -1)
	close_lists "$(cat "$DATA/../score$i.out")" "$alone" 1e-5 && same=$((same + 1))
done
check "4 clients scoring at once (lm_score, lm_perplexity of 800 texts): the backend's within 1e-5 ($same of 4)" \
	$([ "$same" = 4 ]; echo $?)
mean=$(q "SELECT mean_batch FROM lm.server_models WHERE name = 'cap'")
check "they ran in batches across the sessions (mean $mean requests a batch)" \
	$(awk -v b="${mean:-0}" 'BEGIN {exit !(b > 1.2)}'; echo $?)

# ---- drop and re-import while another session runs the model ------------------------------
tiny=$(q "SELECT lm_logits('swap', ARRAY[1, 2, 3])::text")
llama=$(q "SELECT lm_import('llama', '$FIXTURES/models/llama-tiny') > 0; SELECT lm_logits('llama', ARRAY[1, 2, 3])::text" | tail -1)
( for i in $(seq 150); do q "SELECT lm_logits('swap', ARRAY[1, 2, 3])::text"; done ) >"$DATA/../swap.out" &
reader=$!
for i in $(seq 6); do
	src=$([ $((i % 2)) = 1 ] && echo llama-tiny || echo gpt2-tiny)
	q "BEGIN; SELECT lm_drop('swap'); SELECT lm_import('swap', '$FIXTURES/models/$src'); COMMIT" >/dev/null
done
wait $reader
bad=$(grep -v -x -F -e "$tiny" -e "$llama" "$DATA/../swap.out" | grep -v 'model "swap" does not exist' | head -3)
check "drop and re-import while in use: only the old or the new weights, no other error" \
	$([ -z "$bad" ]; echo $?) "$bad"

wait $bystander
check "the bystander session survived every fault" $(grep -q "bystander survived" "$DATA/../bystander.out"; echo $?) \
	"$(cat "$DATA/../bystander.out")"
# ---- pg_lm.device ------------------------------------------------------------------------
# Change a setting the server starts with, reload, and wait for the new server.
restart_server() {	# restart_server SQL
	local before now
	before=$(server_pid)
	q "$1" >/dev/null; q "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 200); do
		now=$(server_pid 2>/dev/null)
		[[ "$now" =~ ^[0-9]+$ ]] && [ "$now" != "$before" ] && return 0
		sleep 0.1
	done
	return 1
}
log_size() { if [ -r "$LOG" ]; then stat -c %s "$LOG"; else echo 0; fi; }
# Greatest difference between two real[] given as text; "length" when their lengths differ.
max_diff() { q "SELECT CASE WHEN cardinality('$1'::real[]) <> cardinality('$2'::real[]) THEN 'length'
                            ELSE max(abs(a - b))::text END FROM unnest('$1'::real[], '$2'::real[]) t(a, b)"; }
within() { awk -v d="$1" -v t="$2" 'BEGIN {exit !(d != "" && d != "length" && d + 0 <= t + 0)}'; }
q "SELECT lm_import('emb', '$FIXTURES/models/minilm-tiny-st'), lm_import('rnn', '$FIXTURES/models/rnn-gru-langid')" >/dev/null
EMBED="lm_embed('emb', 'A dog runs on the beach.')::text"
embed_cpu=$(q "SELECT $EMBED")

log0=$(log_size)
restart_server "ALTER SYSTEM SET pg_lm.device = 'cuda'"; restarted=$?
check "pg_lm.device = 'cuda': the server restarts" $restarted
dev=$(q "SELECT device FROM lm.server")
if [ "$dev" = cpu ]; then
	if [ -r "$LOG" ]; then
		warning=$(tail -c +$((log0 + 1)) "$LOG" | grep -m1 -E "WARNING:  pg_lm.device = 'cuda' is not usable, models run on the CPU: .+")
		check "pg_lm.device = 'cuda' without a usable GPU: the log has a WARNING with the reason" \
			$([ -n "$warning" ]; echo $?) "$(tail -c +$((log0 + 1)) "$LOG" | grep "pg_lm server" | tail -5)"
		echo "# ${warning#*WARNING:  }"
	fi
	after=$(q "SELECT $GEN")
	check "pg_lm.device = 'cuda' without a GPU: lm.server says cpu, lm_generate answers as before" \
		$([ "$after" = "$expected" ]; echo $?) "$after"
	d=$(max_diff "$(q "SELECT $EMBED")" "$embed_cpu")
	check "pg_lm.device = 'cuda' without a GPU: lm_embed answers as before (max difference $d)" \
		$([ "$d" = 0 ]; echo $?)
	check "pg_lm.device = 'cuda' without a GPU: the models run on the CPU" \
		$([ "$(q "SELECT string_agg(DISTINCT device, ',') FROM lm.server_models")" = cpu ]; echo $?)
else
	# a machine with a GPU: the server runs there
	out=$(q "SELECT $GEN")
	check "pg_lm.device = 'cuda' on a GPU ($dev): lm_generate answers" \
		$([[ "$dev" == cuda:* ]] && [ -n "$out" ] && ! grep -q ERROR <<<"$out"; echo $?) "$out"
	check "pg_lm.device = 'cuda' on a GPU: GPT-2 runs on it" \
		$([ "$(q "SELECT device FROM lm.server_models WHERE name = 'cap'")" = cuda ]; echo $?)
fi

log0=$(log_size)
restart_server "ALTER SYSTEM SET pg_lm.device = 'reference'"; restarted=$?
check "pg_lm.device = 'reference': the server restarts on the reference device" \
	$([ $restarted = 0 ] && [[ "$(q "SELECT device FROM lm.server")" == reference:* ]]; echo $?) "$(q "SELECT device FROM lm.server")"
if [ -r "$LOG" ]; then
	check "pg_lm.device = 'reference': the log names the device" \
		$(tail -c +$((log0 + 1)) "$LOG" | grep -q 'pg_lm server: models .* run on "reference:'; echo $?)
fi
# each answer from the server (on the device) and from the backend (on the CPU)
both() { q "SELECT $1"; q "SET pg_lm.execution = backend; SELECT $1" | tail -1; }
for g in "lm_generate('cap', 'A man in a', 16)" "lm_generate('llama', 'hello', 8)"; do
	{ read -r srv; read -r bak; } < <(both "to_json($g)")	# JSON: one line
	check "pg_lm.device = 'reference': greedy $g is the backend's" \
		$([ "$srv" = "$bak" ] && [ -n "$srv" ] && ! grep -q ERROR <<<"$srv"; echo $?) "server: $srv | backend: $bak"
done
# greedy generations of 4 clients at once, decoded together on the device
GREEDY="SELECT string_agg(md5(lm_generate('cap', '%s', 8 + 3 * g)), ',' ORDER BY g) FROM generate_series(1, 5) g"
prompts=("A man in a" "Two dogs" "A woman" "A child in a red")
pids=()
for i in 0 1 2 3; do
	q "$(printf "$GREEDY" "${prompts[$i]}")" >"$DATA/../device$i.out" &
	pids+=($!)
done
wait "${pids[@]}"
same=0
for i in 0 1 2 3; do
	alone=$(q "SET pg_lm.execution = backend; $(printf "$GREEDY" "${prompts[$i]}")" | tail -1)
	[ "$alone" = "$(cat "$DATA/../device$i.out")" ] && same=$((same + 1))
done
check "pg_lm.device = 'reference': 4 clients generating at once get the backend's texts ($same of 4)" \
	$([ "$same" = 4 ]; echo $?)
{ read -r srv; read -r bak; } < <(both "$EMBED")
d=$(max_diff "$srv" "$bak")
check "pg_lm.device = 'reference': lm_embed within 1e-4 of the backend's (max difference $d)" \
	$(within "$d" 1e-4; echo $?) "$srv | $bak"
CLASSIFY="lm_classify('sent', 'a wonderful, moving film')"
SCORES="(SELECT array_agg(score ORDER BY label) FROM lm_classify_scores('sent', 'a dull, tedious film'))::text"
{ read -r srv; read -r bak; } < <(both "$CLASSIFY")
check "pg_lm.device = 'reference': lm_classify is the backend's ($srv)" \
	$([ "$srv" = "$bak" ] && [ -n "$srv" ] && ! grep -q ERROR <<<"$srv"; echo $?) "server: $srv | backend: $bak"
{ read -r srv; read -r bak; } < <(both "$SCORES")
d=$(max_diff "$srv" "$bak")
check "pg_lm.device = 'reference': lm_classify_scores within 1e-4 of the backend's (max difference $d)" \
	$(within "$d" 1e-4; echo $?) "$srv | $bak"
{ read -r srv; read -r bak; } < <(both "lm_classify('rnn', 'guten morgen')")
check "pg_lm.device = 'reference': an RNN (no device path) still answers ($srv)" \
	$([ "$srv" = "$bak" ] && [ -n "$srv" ] && ! grep -q ERROR <<<"$srv"; echo $?) "server: $srv | backend: $bak"
placed=$(q "SELECT string_agg(s.name || ' (' || m.architecture || ') on ' || s.device, ', ' ORDER BY s.name)
            FROM lm.server_models s JOIN lm.models m USING (name)")
misplaced=$(q "SELECT count(*) FROM lm.server_models s JOIN lm.models m USING (name)
               WHERE (m.architecture IN ('gpt2', 'llama', 'bert')) <> (s.device = 'reference')")
loaded=$(q "SELECT count(*) FROM lm.server_models s JOIN lm.models m USING (name)
            WHERE m.architecture IN ('gpt2', 'llama', 'bert')")
check "pg_lm.device = 'reference': GPT-2, Llama and BERT models run on it, the RNN on the CPU ($placed)" \
	$([ "$misplaced" = 0 ] && [ "$loaded" -ge 4 ]; echo $?)

restart_server "ALTER SYSTEM RESET pg_lm.device"; restarted=$?
check "pg_lm.device back to 'cpu': the server restarts on the CPU" \
	$([ $restarted = 0 ] && [ "$(q "SELECT device FROM lm.server")" = cpu ]; echo $?)
after=$(q "SELECT $GEN")
check "pg_lm.device back to 'cpu': lm_generate answers as before" $([ "$after" = "$expected" ]; echo $?) "$after"

QDB=postgres q "DROP DATABASE $DB" >/dev/null; QDB=postgres q "DROP DATABASE ${DB}_2" >/dev/null
echo "server-tests: $passed passed, $failed failed"
