#!/usr/bin/env bash
# localedge/origin/testdata/peers/record.sh — what nginx and Apache httpd
# answer for dotfiles and for a file's path with a trailing slash, with the
# static-file configuration each ships, recorded in peers.tsv next to this
# script. TestPeers (dotfile_test.go) checks the folder origin against it
# and docs/localedge.md ("Security") cites it.
#
#   bash localedge/origin/testdata/peers/record.sh
#
# Needs apt-get (Debian 12) and curl; the servers are the pinned packages
# below, downloaded and unpacked into a temporary folder (not installed),
# listening on free loopback ports.
set -euo pipefail

NGINX_VERSION=1.22.1-9+deb12u12
APACHE_VERSION=2.4.71-1~deb12u1
APR_VERSION=1.7.2-3+deb12u1
APRUTIL_VERSION=1.6.3-1+deb12u1

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

cd "$work"
apt-get download -q "nginx=$NGINX_VERSION" "apache2-bin=$APACHE_VERSION" \
	"libapr1=$APR_VERSION" "libaprutil1=$APRUTIL_VERSION" >/dev/null 2>&1
for d in *.deb; do dpkg -x "$d" root; done
export LD_LIBRARY_PATH=$work/root/usr/lib/x86_64-linux-gnu

# The site: ordinary files, a folder index, dotfiles and .well-known/.
site=$work/site
mkdir -p "$site/docs" "$site/sub" "$site/.git" "$site/.well-known"
echo home >"$site/index.html"
echo a >"$site/a.txt"
echo docs >"$site/docs/index.html"
echo SECRET=1 >"$site/.env"
echo 'admin:x' >"$site/.htpasswd"
echo '# comment' >"$site/sub/.htaccess"
echo '[core]' >"$site/.git/config"
echo 'Contact: mailto:security@example.test' >"$site/.well-known/security.txt"
chmod -R a+rX "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx: a server with root and nothing else (the default static setup),
# and one with the usual hardening rule for dotfiles.
nginx_port=$(free_port)
nginx_deny_port=$(free_port)
mkdir -p nginx/logs
cat >nginx/nginx.conf <<EOF
daemon off;
pid $work/nginx/nginx.pid;
error_log stderr;
events {}
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	fastcgi_temp_path $work/nginx/fastcgi;
	uwsgi_temp_path $work/nginx/uwsgi;
	scgi_temp_path $work/nginx/scgi;
	server { listen 127.0.0.1:$nginx_port; root $site; }
	server {
		listen 127.0.0.1:$nginx_deny_port; root $site;
		location ~ /\.(?!well-known) { deny all; }
	}
}
EOF
root/usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -e stderr 2>nginx/stderr &
pids+=($!)

# Apache httpd: DocumentRoot with the access rule of the default
# httpd.conf (and Debian's apache2.conf): <Files ".ht*"> denied.
apache_port=$(free_port)
mods=$work/root/usr/lib/apache2/modules
mkdir -p apache
cat >apache/httpd.conf <<EOF
ServerRoot $work/apache
Listen 127.0.0.1:$apache_port
ServerName 127.0.0.1
PidFile $work/apache/httpd.pid
ErrorLog /dev/stderr
User nobody
Group nogroup
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule dir_module $mods/mod_dir.so
DocumentRoot $site
<Directory />
	Require all denied
</Directory>
<Directory $site>
	Require all granted
</Directory>
<Files ".ht*">
	Require all denied
</Files>
DirectoryIndex index.html
EOF
root/usr/sbin/apache2 -f "$work/apache/httpd.conf" -DFOREGROUND 2>apache/stderr &
pids+=($!)

for server in "nginx $nginx_port" "nginx $nginx_deny_port" "apache $apache_port"; do
	set -- $server
	for i in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$2/" && break
		if [ "$i" = 50 ]; then
			echo "record.sh: $1 did not start:" >&2
			cat "$1/stderr" >&2
			exit 1
		fi
		sleep 0.1
	done
done

status() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "http://127.0.0.1:$1$2"; }
{
	printf '# path\tnginx %s\tnginx %s with location ~ /\\.(?!well-known) { deny all; }\tapache %s\n' \
		"$NGINX_VERSION" "$NGINX_VERSION" "$APACHE_VERSION"
	for path in /index.html /index.html/ /a.txt/ /docs/ /docs/index.html/ \
		/.env /.env/ /.htpasswd /sub/.htaccess /.git/config /.well-known/security.txt; do
		printf '%s\t%s\t%s\t%s\n' "$path" "$(status "$nginx_port" "$path")" \
			"$(status "$nginx_deny_port" "$path")" "$(status "$apache_port" "$path")"
	done
} >"$here/peers.tsv"
cat "$here/peers.tsv"
