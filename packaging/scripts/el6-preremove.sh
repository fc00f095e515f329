#!/bin/sh
# pgha-exporter EL6 rpm %preun ($1 = 0 erase, 1 upgrade). On erase only: stop
# the exporter and remove the init script from chkconfig.
set -e
if [ "${1:-0}" -eq 0 ]; then
    service pgha_exporter stop >/dev/null 2>&1 || true
    chkconfig --del pgha_exporter || true
fi
exit 0
