#!/bin/sh
# A throwaway PostgreSQL 15 cluster for tests and the demo.
#   scripts/cluster.sh start DIR PORT   — initdb (as the postgres user) and start
#   scripts/cluster.sh stop DIR         — stop and remove it
# The socket lives in DIR; connect with  psql -h DIR -p PORT -U postgres.
set -e
BINDIR=$(/usr/lib/postgresql/15/bin/pg_config --bindir 2>/dev/null || pg_config --bindir)
as_postgres() {
	if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}
cmd=$1; dir=$2; port=${3:-54329}
case "$cmd" in
start)
	mkdir -p "$dir"; chown postgres: "$dir" 2>/dev/null || true
	as_postgres "$BINDIR/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >"$dir/initdb.log" 2>&1 \
		|| { cat "$dir/initdb.log"; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_lm'
max_connections = 40
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
	as_postgres "$BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null \
		|| { cat "$dir/server.log"; exit 1; }
	;;
stop)
	[ -d "$dir/data" ] && as_postgres "$BINDIR/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2;;
esac
