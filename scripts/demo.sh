#!/bin/bash
# The demo: install what is needed, build, start a throwaway cluster, import
# the bundled models and run real queries.  The cluster is removed at the
# end (KEEP=1 keeps it running and prints how to connect).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${PG_LM_DEMO_PORT:-54349}
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config

scripts/install-deps.sh
echo "== building pg_lm"
make -s -j2 PG_CONFIG=$PG_CONFIG >/dev/null && make -s install PG_CONFIG=$PG_CONFIG >/dev/null

DIR=$(mktemp -d /tmp/pg_lm_demo.XXXXXX); chmod 755 "$DIR"
[ "${KEEP:-0}" = 1 ] || trap 'scripts/cluster.sh stop "$DIR/pg"; rm -rf "$DIR"' EXIT
scripts/cluster.sh start "$DIR/pg" "$PORT"
# The server reads the model files: give it a copy it can always reach.
cp -r models "$DIR/models"; chmod -R a+rX "$DIR/models"

run() { echo; echo "pg_lm=# $1"; psql -X -h "$DIR/pg" -p "$PORT" -U postgres -d postgres -c "$1"; }

run "CREATE EXTENSION pg_lm"
run "SELECT lm_import('captions-gpt2', '$DIR/models/captions-gpt2')"
run "SELECT lm_import('sentiment-rt', '$DIR/models/sentiment-rt')"
run "SELECT name, architecture, task, parameters, bytes, dtype FROM lm.models"
run "SELECT lm_tokens('captions-gpt2', 'A man in a blue shirt is playing a guitar.')"
run "SELECT lm_tokenize('sentiment-rt', 'an utterly charming and hilarious film')"
run "SELECT lm_tokens('sentiment-rt', 'an utterly charming and hilarious film')"
run "SELECT lm_detokenize('captions-gpt2', lm_tokenize('captions-gpt2', 'Two dogs run through the snow.'))"
run "SELECT file, sha256, bytes FROM lm.model_file f JOIN lm.model m ON m.id = f.model_id WHERE m.name = 'sentiment-rt'"

if [ "${KEEP:-0}" = 1 ]; then
	echo; echo "cluster kept: psql -h $DIR/pg -p $PORT -U postgres"
fi
