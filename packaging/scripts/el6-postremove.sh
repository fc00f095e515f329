#!/bin/sh
# pgha-exporter EL6 rpm %postun ($1 = 0 erase, 1 upgrade). The user and group
# pgha are kept (packaging/README.md); /etc/sysconfig/pgha_exporter is kept as
# .rpmsave when it was changed. /var/log/pgha_exporter.log (written by the
# init script, not owned by the package) stays.
set -e
if [ "${1:-0}" -eq 0 ] && getent passwd pgha >/dev/null 2>&1; then
    echo "pgha-exporter: the system user and group pgha were kept; to delete them: userdel pgha (and groupdel pgha if the group remains)"
fi
exit 0
