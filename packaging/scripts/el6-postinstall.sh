#!/bin/sh
# pgha-exporter EL6 rpm %post ($1 = 1 install, 2 upgrade). Creates the system
# user and group pgha, adds pgha to haclient, registers the init script with
# chkconfig (not enabled: no runlevel is on). On an upgrade it restarts a
# running exporter. Never starts or enables the service on an install.
set -e

user=pgha
group=pgha

if ! getent group "$group" >/dev/null 2>&1; then
    groupadd -r "$group"
fi
if ! getent passwd "$user" >/dev/null 2>&1; then
    useradd -r -g "$group" -d /nonexistent -M -s /sbin/nologin -c "pgha_exporter" "$user"
fi
if getent group haclient >/dev/null 2>&1; then
    case " $(id -Gn "$user") " in
    *" haclient "*) ;;
    *) usermod -a -G haclient "$user" ;;
    esac
else
    echo "pgha-exporter: group haclient does not exist yet (Pacemaker not installed?)."
    echo "pgha-exporter: once it exists run: usermod -a -G haclient $user"
fi

chkconfig --add pgha_exporter
if [ "${1:-1}" -ge 2 ]; then
    service pgha_exporter condrestart >/dev/null 2>&1 || true
else
    echo "pgha-exporter: configure /etc/sysconfig/pgha_exporter, then: chkconfig pgha_exporter on && service pgha_exporter start"
fi
exit 0
