#!/usr/bin/env bash
# Writes the access-log fixtures of package workload with the real servers:
# nginx (Debian 1.22.1) as a caching proxy logging the combined format plus
# $request_time and $upstream_cache_status, and Apache httpd (Debian
# 2.4.71) logging the combined format. Run by hand when the fixtures need
# changing; the small outputs are committed.
#
#   sudo apt-get install -y nginx-light apache2 curl
#   bash simulate/workload/testdata/gen-logs.sh
set -euo pipefail
cd "$(dirname "$0")"
out=$(pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.05; done; echo "no server on $1" >&2; exit 1; }

mkdir -p "$tmp/site/img" "$tmp/cache" "$tmp/logs"
echo '<!doctype html><title>home</title>' >"$tmp/site/index.html"
head -c 20000 /dev/zero >"$tmp/site/img/logo.png"
echo 'body{}' >"$tmp/site/app.css"
chmod -R a+rwX "$tmp" # the servers' workers run as another user

# --- nginx: an origin server block and a caching proxy in front of it --------
origin=$(freeport)
edge=$(freeport)
cat >"$tmp/nginx.conf" <<EOF
daemon off;
worker_processes 1;
error_log $tmp/logs/error.log;
pid $tmp/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $tmp/body; proxy_temp_path $tmp/proxy; fastcgi_temp_path $tmp/fcgi;
  uwsgi_temp_path $tmp/uwsgi; scgi_temp_path $tmp/scgi;
  proxy_cache_path $tmp/cache keys_zone=edge:1m;
  log_format cdn '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent '
                 '"\$http_referer" "\$http_user_agent" \$request_time \$upstream_cache_status';
  server {
    listen 127.0.0.1:$origin;
    root $tmp/site;
    location / { add_header Cache-Control "public, max-age=60"; }
  }
  server {
    listen 127.0.0.1:$edge;
    access_log $tmp/logs/nginx.log cdn;
    location / { proxy_pass http://127.0.0.1:$origin; proxy_cache edge; }
  }
}
EOF
nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids+=($!)
wait_port "$edge"
sleep 0.2
: >"$tmp/logs/nginx.log"
base="http://127.0.0.1:$edge"
curl -s -o /dev/null "$base/index.html"                                      # MISS
curl -s -o /dev/null "$base/index.html"                                      # HIT
curl -s -o /dev/null -A 'Mozilla/5.0 (X11; Linux x86_64) "quoted"' "$base/img/logo.png?v=2"
curl -s -o /dev/null "$base/img/logo.png?v=2"
curl -s -o /dev/null -I "$base/app.css"                                      # HEAD
curl -s -o /dev/null -H 'Range: bytes=0-99' "$base/img/logo.png?v=2"         # 206
curl -s -o /dev/null -H "If-Modified-Since: $(date -u -R -d '+1 day' | sed 's/+0000/GMT/')" "$base/app.css"  # 304
curl -s -o /dev/null "$base/missing.html"                                    # 404
curl -s -o /dev/null -X POST -d x=1 "$base/index.html"                       # 405 from the origin
curl -s -o /dev/null -e "$base/" "$base/app.css"
printf 'GARBAGE\r\n\r\n' | timeout 2 python3 -c 'import socket,sys; s=socket.create_connection(("127.0.0.1",'"$edge"')); s.sendall(sys.stdin.buffer.read()); s.recv(4096)' || true
sleep 0.3
cp "$tmp/logs/nginx.log" "$out/nginx-cache.log"

# --- Apache httpd: the combined format -----------------------------------------
ap=$(freeport)
cat >"$tmp/httpd.conf" <<EOF
ServerRoot /usr/lib/apache2
ServerName localhost
Listen 127.0.0.1:$ap
PidFile $tmp/httpd.pid
LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
TypesConfig /etc/mime.types
ErrorLog $tmp/logs/apache-error.log
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $tmp/logs/apache.log combined
DocumentRoot $tmp/site
<Directory $tmp/site>
  Require all granted
</Directory>
EOF
apache2 -X -f "$tmp/httpd.conf" &
pids+=($!)
wait_port "$ap"
sleep 0.2
: >"$tmp/logs/apache.log"
abase="http://127.0.0.1:$ap"
curl -s -o /dev/null "$abase/index.html"
curl -s -o /dev/null -A 'Mozilla/5.0 "quoted" agent' "$abase/img/logo.png"
curl -s -o /dev/null "$abase/missing.html"
curl -s -o /dev/null -I "$abase/app.css"
curl -s -o /dev/null "$abase/app.css?x=%20y"
sleep 0.3
cp "$tmp/logs/apache.log" "$out/apache-combined.log"
wc -l "$out/nginx-cache.log" "$out/apache-combined.log"
