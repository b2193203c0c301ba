# Starts a throwaway PostgreSQL cluster on loopback for the tests; sourced by
# tests/run.sh. Exports ARDOISE_TEST_PG_URL (a superuser URL used only to
# create per-test databases and roles) and removes the cluster on exit.
pg_start() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PG_DIR=$(mktemp -d /tmp/ardoise-pg.XXXXXX)
  chmod 755 "$PG_DIR"
  local run=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$PG_DIR"
    run=(runuser -u postgres --)
  fi
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "${run[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
  "${run[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c max_connections=300" start >/dev/null
  export ARDOISE_TEST_PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  PG_STOP=("${run[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -m immediate stop)
  echo "PostgreSQL test cluster on 127.0.0.1:$PG_PORT"
}

pg_stop() {
  if [[ -n "${PG_DIR:-}" ]]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
    PG_DIR=""
  fi
}
