#!/bin/sh
# pgha-exporter post-install: deb postinst ("configure" [old-version], or
# "abort-*"), rpm %post ($1 = 1 install, 2 upgrade). POSIX sh, Debian and RHEL.
# Creates the system user and group pgha, adds pgha to haclient, reloads
# systemd when it runs. Idempotent. Never starts or enables the service.
set -e

user=pgha
group=pgha
unit=pgha_exporter.service

upgrade=no
case "${1:-}" in
configure)
    if [ -n "${2:-}" ]; then upgrade=yes; fi
    ;;
[0-9]*)
    if [ "$1" -ge 2 ]; then upgrade=yes; fi
    ;;
esac

nologin=/usr/sbin/nologin
if [ ! -x "$nologin" ]; then nologin=/sbin/nologin; fi
if [ ! -x "$nologin" ]; then nologin=/bin/false; fi

if ! getent group "$group" >/dev/null 2>&1; then
    if command -v groupadd >/dev/null 2>&1; then
        groupadd --system "$group"
    else
        addgroup --system "$group"
    fi
fi
if ! getent passwd "$user" >/dev/null 2>&1; then
    if command -v useradd >/dev/null 2>&1; then
        useradd --system --gid "$group" --home-dir /nonexistent --no-create-home \
            --shell "$nologin" --comment "pgha_exporter" "$user"
    else
        adduser --system --ingroup "$group" --home /nonexistent --no-create-home \
            --shell "$nologin" --gecos "pgha_exporter" "$user"
    fi
fi

# crm_mon/cibadmin need haclient (packaging/README.md). The unit also sets
# SupplementaryGroups=haclient; the membership is for "runuser -u pgha --
# pgha_exporter check" and for admins reading /etc/group.
if getent group haclient >/dev/null 2>&1; then
    case " $(id -Gn "$user") " in
    *" haclient "*) ;;
    *)
        if command -v usermod >/dev/null 2>&1; then
            usermod -a -G haclient "$user"
        else
            adduser "$user" haclient >/dev/null
        fi
        ;;
    esac
else
    echo "pgha-exporter: group haclient does not exist yet (Pacemaker not installed?)."
    echo "pgha-exporter: once it exists run: usermod -a -G haclient $user"
    echo "pgha-exporter: pgha_exporter.service will not start without it (SupplementaryGroups=haclient)."
fi

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || true
    if [ "$upgrade" = yes ]; then
        # Restart a running exporter onto the new binary; leave a stopped one alone.
        systemctl try-restart "$unit" >/dev/null 2>&1 || true
    fi
fi

if [ "$upgrade" = no ]; then
    case "${1:-}" in abort-*) exit 0 ;; esac
    if [ -f /etc/default/pgha_exporter ]; then conf=/etc/default/pgha_exporter; else conf=/etc/sysconfig/pgha_exporter; fi
    echo "pgha-exporter: configure $conf, then: systemctl enable --now $unit"
fi
exit 0
