#!/bin/bash
# Models are data a DBA can back up: against a running cluster that preloads
# pg_lm,   tests/dba/restore.sh SOCKET_DIR PORT
#
#   - a database with a model of every kind (transformer encoder, decoder and
#     encoder-decoder, RNN, tokenizer alone (one with a chat template), word vectors, fastText, n-gram,
#     TF-IDF, word2vec), a model with restricted users, and user tables in a
#     schema that sorts before lm ("app") and one after ("zz") calling pg_lm in
#     stored generated columns, expression indexes (one of them lm_hnsw) and
#     materialised views;
#   - pg_dump -Fc, then pg_restore serially and with -j 4, and pg_dump as SQL
#     restored by psql: each restore ends without an error and answers every
#     query of the fingerprint below exactly as the original does;
#   - a streaming replica made by pg_basebackup: a model imported on the
#     primary after the backup reaches it through WAL replay and answers there
#     as on the primary.
# Prints "dba-tests: N passed, N failed".
set -u
HOST=$1; PORT=$2
FIXTURES=${PG_LM_FIXTURES:?}; MODELS=${PG_LM_MODELS:?}
BINDIR=$(/usr/lib/postgresql/15/bin/pg_config --bindir)
WORK=$(mktemp -d /tmp/pg_lm_dba.XXXXXX); chmod 755 "$WORK"; chown postgres: "$WORK" 2>/dev/null
REPLICA_PORT=$((PORT + 1))
passed=0; failed=0
check() {	# check NAME CONDITION-STATUS [DETAIL]
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok - $1"
	else failed=$((failed + 1)); echo "FAILED - $1 ${3:-}"; fi
}
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
q() { psql -X -At -h "$HOST" -p "$PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1; }
cleanup() {
	[ -d "$WORK/replica" ] && as_postgres "$BINDIR/pg_ctl" -D "$WORK/replica" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT

for db in dba_src dba_serial dba_parallel dba_plain; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
q postgres "CREATE DATABASE dba_src" >/dev/null
out=$(psql -X -q -h "$HOST" -p "$PORT" -U postgres -d dba_src -v ON_ERROR_STOP=1 2>&1 <<SQL
CREATE EXTENSION pg_lm;
SELECT lm_import('clf', '$FIXTURES/models/bert-tiny-langid'), lm_import('gen', '$FIXTURES/models/gpt2-tiny'),
       lm_import('t5', '$FIXTURES/models/t5-tiny'), lm_import('nllb', '$FIXTURES/models/nllb-tiny'),
       lm_import('emb', '$FIXTURES/models/minilm-tiny-st'), lm_import('rnn', '$FIXTURES/models/rnn-gru-langid'),
       lm_import('tok', '$FIXTURES/tokenizers/wordpiece/tokenizer.json'),
       lm_import('glove', '$MODELS/glove-6B-100d/glove-6B-100d-top5k.txt'),
       lm_import('lid', '$MODELS/fasttext-lid176/lid.176.ftz'),
       lm_import('private', '$MODELS/sentiment-rt'),
       lm_import('chat', '$FIXTURES/real-tokenizers/llama2',
                 chat_template => '{{ bos_token }}[INST] {{ messages[0].content }} [/INST]{{ eos_token }}');
CREATE ROLE dba_reader;
SELECT lm_revoke('private', 'public'), lm_grant('private', 'dba_reader');
CREATE TABLE corpus (s text);
INSERT INTO corpus SELECT 'the cat sat on the mat number ' || g FROM generate_series(1, 50) g;
INSERT INTO corpus VALUES ('New York has amazing food'), ('Paris has amazing art');
SELECT lm_ngram_train('ngram', 'SELECT s FROM corpus', 3, 'laplace'),
       lm_tfidf_train('tfidf', 'SELECT s FROM corpus'),
       lm_word2vec_train('w2v', 'SELECT s FROM corpus', dim => 8, min_count => 1, epochs => 1);
CREATE SCHEMA app;
CREATE SCHEMA zz;
CREATE TABLE app.reviews (id int PRIMARY KEY, body text,
	lang text GENERATED ALWAYS AS (lm_classify('clf', body)) STORED,
	mood text GENERATED ALWAYS AS (lm_classify('private', body)) STORED);
CREATE TABLE zz.reviews (LIKE app.reviews INCLUDING ALL);
INSERT INTO app.reviews (id, body) SELECT g, 'review ' || g || ': a moving, beautiful film' FROM generate_series(1, 40) g;
INSERT INTO zz.reviews (id, body) SELECT id, body FROM app.reviews;
CREATE INDEX app_reviews_emb ON app.reviews (lm_embed('emb', body));
CREATE INDEX zz_reviews_tok ON zz.reviews (lm_tokenize('tok', body));
CREATE INDEX app_reviews_similar ON app.reviews USING lm_hnsw (lm_embed('emb', body)) WITH (m = 8, ef_construction = 32);
CREATE MATERIALIZED VIEW app.continuations AS
	SELECT id, lm_generate('gen', body, 4) AS next FROM app.reviews WHERE id <= 5;
CREATE MATERIALIZED VIEW zz.words AS
	SELECT word, round(similarity::numeric, 5) AS similarity FROM lm_most_similar('glove', 'king', 5);
SQL
)
check "the source database: every kind of model, user tables calling pg_lm" $? "$out"

# What the databases must answer alike: user data, models and their answers.
FINGERPRINT=$(cat <<'SQL'
SET enable_seqscan = off;
SELECT 'models', name, architecture, task, parameters, bytes, dtype, owner, users::text FROM lm.models ORDER BY name;
SELECT 'app', * FROM app.reviews ORDER BY id;
SELECT 'zz', * FROM zz.reviews ORDER BY id;
SELECT 'continuations', * FROM app.continuations ORDER BY id;
SELECT 'words', * FROM zz.words ORDER BY word;
SELECT 'index', count(*) FROM app.reviews WHERE lm_embed('emb', body) = lm_embed('emb', 'review 3: a moving, beautiful film');
SELECT 'index', count(*) FROM zz.reviews WHERE lm_tokenize('tok', body) = lm_tokenize('tok', 'review 4: a moving, beautiful film');
SELECT 'similar', id FROM app.reviews ORDER BY lm_embed('emb', body) <=> lm_embed('emb', 'a beautiful film, review 7') LIMIT 5;
SELECT 'similar-index', * FROM lm_hnsw_check('app.app_reviews_similar');
SELECT 'gen', lm_generate('gen', 'Hello world', 6);
SELECT 't5', lm_generate('t5', 'translate this', 6);
SELECT 'nllb', lm_tokenize('nllb', 'Hello world');
SELECT 'rnn', lm_classify('rnn', 'hello world');
SELECT 'tok', lm_tokens('tok', 'hello world');
SELECT 'chat', lm_chat_prompt('chat', '[{"role": "user", "content": "hello"}]'), chat_template FROM lm.models WHERE name = 'chat';
SELECT 'ngram', word, round(probability::numeric, 8) FROM lm_next_word('ngram', 'the cat', 3);
SELECT 'tfidf', lm_tfidf('tfidf', 'the cat sat on amazing art');
SELECT 'w2v', lm_word_vector('w2v', 'cat');
SELECT 'lid', lm_classify('lid', 'das ist ein Haus');
SELECT 'private', lm_classify('private', 'a moving, beautiful film');
SQL
)
fingerprint() { psql -X -At -h "$HOST" -p "$PORT" -U postgres -d "$1" -v ON_ERROR_STOP=1 -c "$FINGERPRINT" 2>&1; }
fingerprint dba_src >"$WORK/src.txt"
check "the fingerprint of the source ($(wc -l <"$WORK/src.txt") lines)" \
	$(grep -q ERROR "$WORK/src.txt"; [ $? -ne 0 ] && [ "$(wc -l <"$WORK/src.txt")" -gt 100 ]; echo $?) "$(head -c 600 "$WORK/src.txt")"

same_as_source() {	# same_as_source NAME DB
	fingerprint "$2" >"$WORK/$2.txt"
	check "$1: every query answers as in the source" $(cmp -s "$WORK/src.txt" "$WORK/$2.txt"; echo $?) \
		"$(diff "$WORK/src.txt" "$WORK/$2.txt" | head -8)"
}

pg_dump -h "$HOST" -p "$PORT" -U postgres -Fc -f "$WORK/dump.fc" dba_src
check "pg_dump -Fc" $?
pg_dump -h "$HOST" -p "$PORT" -U postgres -f "$WORK/dump.sql" dba_src
check "pg_dump as SQL" $?
tables=$(pg_restore -l "$WORK/dump.fc" | grep -c "TABLE DATA _lm ")
check "the dump holds the data of pg_lm's $tables tables" $([ "$tables" -eq 7 ]; echo $?)

for mode in serial parallel; do
	q postgres "CREATE DATABASE dba_$mode" >/dev/null
	jobs=(); [ $mode = parallel ] && jobs=(-j 4)
	err=$(pg_restore -h "$HOST" -p "$PORT" -U postgres "${jobs[@]}" --exit-on-error -d "dba_$mode" "$WORK/dump.fc" 2>&1)
	check "pg_restore ${jobs[*]:-(serial)}: no error" $([ -z "$err" ]; echo $?) "$(echo "$err" | head -5)"
	same_as_source "pg_restore ${jobs[*]:-(serial)}" "dba_$mode"
done
q postgres "CREATE DATABASE dba_plain" >/dev/null
err=$(psql -X -q -h "$HOST" -p "$PORT" -U postgres -d dba_plain -v ON_ERROR_STOP=1 -f "$WORK/dump.sql" 2>&1 >/dev/null)
check "psql < the SQL dump: no error" $?  "$(echo "$err" | head -5)"
same_as_source "psql < the SQL dump" dba_plain

# A streaming replica from a base backup; a model imported afterwards arrives by WAL.
as_postgres timeout 120 "$BINDIR/pg_basebackup" -h "$HOST" -p "$PORT" -U postgres -D "$WORK/replica" -X stream -c fast -R >"$WORK/basebackup.log" 2>&1
check "pg_basebackup -R" $? "$(tail -3 "$WORK/basebackup.log")"
cat >>"$WORK/replica/postgresql.conf" <<CONF
port = $REPLICA_PORT
unix_socket_directories = '$WORK'
CONF
as_postgres "$BINDIR/pg_ctl" -D "$WORK/replica" -l "$WORK/replica.log" -w start >/dev/null
check "the replica starts" $? "$(tail -5 "$WORK/replica.log")"
q dba_src "SELECT lm_import('after-backup', '$FIXTURES/models/llama-tiny')" >/dev/null
lsn=$(q dba_src "SELECT pg_current_wal_lsn()")
for _ in $(seq 100); do
	caught=$(psql -X -At -h "$WORK" -p "$REPLICA_PORT" -U postgres -d dba_src \
		-c "SELECT pg_last_wal_replay_lsn() >= '$lsn'" 2>/dev/null)
	[ "$caught" = t ] && break; sleep 0.2
done
check "the replica replayed the primary's WAL" $([ "$caught" = t ]; echo $?)
GEN="SELECT lm_generate('after-backup', 'Hello world', 6)"
on_primary=$(q dba_src "$GEN")
on_replica=$(psql -X -At -h "$WORK" -p "$REPLICA_PORT" -U postgres -d dba_src -c "$GEN" 2>&1)
check "a model imported after the backup answers on the replica as on the primary" \
	$([ -n "$on_primary" ] && [ "$on_primary" = "$on_replica" ]; echo $?) "primary: $on_primary; replica: $on_replica"
fingerprint dba_src >"$WORK/primary.txt"
psql -X -At -h "$WORK" -p "$REPLICA_PORT" -U postgres -d dba_src -c "$FINGERPRINT" >"$WORK/replica.txt" 2>&1
check "the replica answers every query as the primary" $(cmp -s "$WORK/primary.txt" "$WORK/replica.txt"; echo $?) \
	"$(diff "$WORK/primary.txt" "$WORK/replica.txt" | head -8)"

for db in dba_src dba_serial dba_parallel dba_plain; do q postgres "DROP DATABASE IF EXISTS $db" >/dev/null; done
q postgres "DROP ROLE IF EXISTS dba_reader" >/dev/null
echo "dba-tests: $passed passed, $failed failed"
