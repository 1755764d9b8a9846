#!/bin/sh
# A throwaway Citus cluster on this machine, for the scale-out tests:
#   scripts/citus-cluster.sh start DIR [PORT]   — a coordinator on PORT (default 55432) and two
#                                                 workers on PORT+1 and PORT+2, registered
#   scripts/citus-cluster.sh add-worker DIR     — one more worker (PORT+3, then PORT+4, ...),
#                                                 started and added with citus_add_node
#   scripts/citus-cluster.sh stop DIR           — stop every node and remove DIR
# Each node is its own PostgreSQL 15 cluster (initdb as the postgres user, DIR/nodeN/data,
# node 0 the coordinator), with shared_preload_libraries = 'citus,pg_lm' (Citus must come
# first), listening on localhost, where the nodes reach each other, and on a socket in DIR.
# Every node has the database $CITUS_DB (default pg_lm_citus) with the citus extension in
# it; connect with  psql -h DIR -p PORT -U postgres -d pg_lm_citus.
# Citus itself comes from scripts/citus-build.sh; pg_lm from make install.
set -e
BINDIR=$(/usr/lib/postgresql/15/bin/pg_config --bindir 2>/dev/null || pg_config --bindir)
DB=${CITUS_DB:-pg_lm_citus}
as_postgres() {
	if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
cmd=$1; dir=$2
[ -n "$dir" ] || { echo "usage: $0 start DIR [PORT] | add-worker DIR | stop DIR" >&2; exit 2; }

psql_node() {	# psql_node PORT DB SQL...
	_p=$1; _db=$2; shift 2
	psql -X -q -At -h "$dir" -p "$_p" -U postgres -d "$_db" -v ON_ERROR_STOP=1 "$@"
}

# start_node N PORT: initdb, configure and start node N, with the database and Citus in it.
start_node() {
	_n=$1; _port=$2; node="$dir/node$_n"
	mkdir -p "$node"; chown postgres: "$node" 2>/dev/null || true
	as_postgres "$BINDIR/initdb" -D "$node/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust \
		>"$node/initdb.log" 2>&1 || { cat "$node/initdb.log"; return 1; }
	cat >>"$node/data/postgresql.conf" <<CONF
listen_addresses = 'localhost'
port = $_port
unix_socket_directories = '$dir'
shared_preload_libraries = 'citus,pg_lm'
max_connections = 100
max_worker_processes = 16
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
# Nodes on one machine: no TLS between them (Citus asks for it by default).
citus.node_conninfo = 'sslmode=disable'
# 8 shards a distributed table (Citus's default is 32): 4 on each of two workers.
citus.shard_count = 8
CONF
	as_postgres "$BINDIR/pg_ctl" -D "$node/data" -l "$node/server.log" -w start >/dev/null \
		|| { cat "$node/server.log"; return 1; }
	psql_node "$_port" postgres -c "CREATE DATABASE $DB"
	psql_node "$_port" "$DB" -c "CREATE EXTENSION citus"
	echo "$_port" >"$node/port"
}

case "$cmd" in
start)
	port=${3:-55432}
	[ -e "$dir/node0" ] && { echo "$0: $dir already holds a cluster" >&2; exit 1; }
	mkdir -p "$dir"; chmod 755 "$dir"; chown postgres: "$dir" 2>/dev/null || true
	echo "$port" >"$dir/base_port"
	for n in 0 1 2; do
		start_node $n $((port + n)) || exit 1
	done
	psql_node "$port" "$DB" -c "SELECT citus_set_coordinator_host('localhost', $port)" >/dev/null
	for n in 1 2; do
		psql_node "$port" "$DB" -c "SELECT citus_add_node('localhost', $((port + n)))" >/dev/null
	done
	;;
add-worker)
	base=$(cat "$dir/base_port")
	n=1; while [ -e "$dir/node$n" ]; do n=$((n + 1)); done
	start_node $n $((base + n)) || exit 1
	psql_node "$base" "$DB" -c "SELECT citus_add_node('localhost', $((base + n)))" >/dev/null
	echo "$((base + n))"
	;;
stop)
	for node in "$dir"/node*; do
		[ -d "$node/data" ] && as_postgres "$BINDIR/pg_ctl" -D "$node/data" -m fast -w stop >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR [PORT] | add-worker DIR | stop DIR" >&2; exit 2;;
esac
