#!/bin/sh
# pgha-exporter post-remove: deb postrm ("remove", "purge", "upgrade",
# "failed-upgrade", "abort-install", "abort-upgrade", "disappear"), rpm
# %postun ($1 = 0 erase, 1 upgrade). POSIX sh, Debian and RHEL.
#
# Removal keeps the configuration: /etc/default/pgha_exporter is a dpkg
# conffile (removed by dpkg itself on purge only); /etc/sysconfig/pgha_exporter
# is %config(noreplace) (rpm -e keeps it as .rpmsave when it was changed).
# Neither removal nor purge deletes the system user and group pgha: files
# outside the package (a DSN or password file, logs) may still be owned by
# that uid, and a reinstall reuses it. That is standard practice for system
# users; the message below tells how to delete them.
set -e

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
fi

case "${1:-}" in
purge | 0)
    if getent passwd pgha >/dev/null 2>&1; then
        echo "pgha-exporter: the system user and group pgha were kept; to delete them: userdel pgha (and groupdel pgha if the group remains)"
    fi
    ;;
esac
exit 0
