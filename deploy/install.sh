#!/usr/bin/env bash
# deploy/install.sh — install heaplab as a systemd service on this Debian 12
# machine (as root, from a checkout): build a release binary, install it
# under /usr/local, install deploy/systemd/heaplab.service, and start it.
#   deploy/install.sh            # then: systemctl status heaplab
# Settings: /etc/heaplab/heaplab.env (created once from heaplab.env.example
# with a random admin token; edit and `systemctl restart heaplab`).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

packages=(meson ninja-build pkg-config gcc libc6-dev libjansson-dev libmicrohttpd-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -d build-release ]; then
    meson setup --reconfigure build-release -Dbuildtype=release -Dtests=false >/dev/null
else
    meson setup build-release -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build-release

install -D -m 0755 build-release/server/heaplab /usr/local/bin/heaplab
rm -rf /usr/local/share/heaplab/static
install -d /usr/local/share/heaplab
cp -r static /usr/local/share/heaplab/static
rm -rf /usr/local/share/heaplab/static/node_modules
install -m 0644 api/openapi.json /usr/local/share/heaplab/openapi.json
install -D -m 0644 deploy/systemd/heaplab.service /etc/systemd/system/heaplab.service
if [ ! -f /etc/heaplab/heaplab.env ]; then
    install -d -m 0750 /etc/heaplab
    token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sed "s/^HEAPLAB_ADMIN_TOKEN=.*/HEAPLAB_ADMIN_TOKEN=$token/" deploy/heaplab.env.example >/etc/heaplab/heaplab.env
    chmod 0640 /etc/heaplab/heaplab.env
    echo "install: admin token written to /etc/heaplab/heaplab.env"
fi
systemctl daemon-reload
systemctl enable --now heaplab
systemctl restart heaplab
echo "install: heaplab is running: systemctl status heaplab; curl -s http://127.0.0.1:8080/healthz"
