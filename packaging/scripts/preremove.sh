#!/bin/sh
# pgha-exporter pre-remove: deb prerm ("remove", "upgrade" new-version,
# "deconfigure", "failed-upgrade"), rpm %preun ($1 = 0 erase, 1 upgrade).
# POSIX sh, Debian and RHEL. On removal only (not on upgrade, where postinst
# restarts the service): stop the service when systemd runs, and disable it
# so that no dangling enablement symlink stays behind.
set -e

unit=pgha_exporter.service

case "${1:-}" in
remove | deconfigure | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now "$unit" >/dev/null 2>&1 || true
elif command -v systemctl >/dev/null 2>&1; then
    # No running systemd (container, chroot): only remove enablement symlinks.
    systemctl --no-reload disable "$unit" >/dev/null 2>&1 || true
fi
exit 0
