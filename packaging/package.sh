#!/bin/sh
# Builds dist/pgha-exporter_<version>-1_<arch>.deb and
# dist/pgha-exporter-<version>-1.<arch>.rpm from packaging/nfpm.yaml, and the
# EL6 variant dist/pgha-exporter-<version>-1.el6.<arch>.rpm from
# packaging/nfpm-el6.yaml with its own binary ($BIN-el6, built here by Go
# 1.23.12 with packaging/el6/go.mod: the last Go for Linux 2.6.32). Run by
# `make package` after `make build`. `sh packaging/package.sh version` prints
# the package version only.
# Environment: BIN (the binary, default bin/pgha_exporter, as in the Makefile),
# LDFLAGS (the Makefile's, for the EL6 build), PGHA_PKG_DIST (output
# directory, default dist; the test uses its own so that it never races a
# developer's build), GO, NFPM, PGHA_PKG_MAINTAINER, SOURCE_DATE_EPOCH,
# PGHA_EL6_GO (default go1.23.12).
#
# nfpm is run as `go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2`, not
# from a tools module: `go run pkg@version` resolves nfpm with nfpm's own go.mod,
# outside this repository's module graph (go.mod/go.sum stay untouched, and
# `go mod tidy` or `go test ./...` never see nfpm), the version is pinned here
# and verified against the Go checksum database, and it works from a fresh
# clone with nothing but the go command. The build is cached after the first
# run (about 20 s, once). A tools module (packaging/tools/go.mod) would add a
# second go.sum of ~150 modules to keep up to date for no gain. Set NFPM to
# use an installed nfpm instead.
set -eu

cd "$(dirname "$0")/.."
GO=${GO:-go}
NFPM=${NFPM:-"$GO run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2"}

# pkg_version converts `git describe --tags --always --dirty` into a version
# valid for both dpkg and rpm (digits first; only letters, digits and . + ~;
# no '-', which rpm forbids and dpkg reads as the revision separator):
#   v1.2.3                  -> 1.2.3
#   v1.2.3-4-gabc1234       -> 1.2.3+git4.abc1234      (sorts after 1.2.3)
#   v1.3.0-rc1              -> 1.3.0~rc1               (sorts before 1.3.0)
#   abc1234 (no tag)        -> 0.0.0~gitabc1234
#   any of these, -dirty    -> ... + ".dirty" (or "+dirty" after a plain tag)
pkg_version() {
    d=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
    dirty=
    case $d in *-dirty)
        dirty=yes
        d=${d%-dirty}
        ;;
    esac
    commits= sha=
    if printf '%s\n' "$d" | grep -Eq -- '-[0-9]+-g[0-9a-f]+$'; then
        commits=$(printf '%s\n' "$d" | sed -E 's/^.*-([0-9]+)-g([0-9a-f]+)$/\1/')
        sha=$(printf '%s\n' "$d" | sed -E 's/^.*-([0-9]+)-g([0-9a-f]+)$/\2/')
        d=$(printf '%s\n' "$d" | sed -E 's/-[0-9]+-g[0-9a-f]+$//')
    fi
    if ! git describe --tags --abbrev=0 >/dev/null 2>&1 &&
        printf '%s\n' "$d" | grep -Eq '^[0-9a-f]{4,}$'; then
        v="0.0.0~git$d" # no tag: the abbreviated commit
    elif printf '%s\n' "$d" | grep -Eq '^v?[0-9]'; then
        # A tag: drop the v, '-' and '_' become '~' (pre-releases sort first),
        # anything else outside [A-Za-z0-9.+~] becomes '.'.
        v=$(printf '%s\n' "$d" | sed -E 's/^v//; s/[-_]/~/g; s/[^A-Za-z0-9.+~]/./g')
        if [ -n "$commits" ]; then v="$v+git$commits.$sha"; fi
    else
        # A tag that does not start with a digit, or no git at all.
        v="0.0.0~$(printf '%s\n' "$d" | sed -E 's/[^A-Za-z0-9.+~]/./g')"
        if [ -n "$commits" ]; then v="$v+git$commits.$sha"; fi
    fi
    if [ -n "$dirty" ]; then
        case $v in *+*) v="$v.dirty" ;; *) v="$v+dirty" ;; esac
    fi
    printf '%s\n' "$v"
}

if [ "${1:-}" = version ]; then
    pkg_version
    exit 0
fi

PGHA_PKG_BIN=${BIN:-bin/pgha_exporter}
PGHA_PKG_DIST=${PGHA_PKG_DIST:-dist}
if [ ! -x "$PGHA_PKG_BIN" ]; then
    echo "package.sh: $PGHA_PKG_BIN is missing; run make package (it builds first)" >&2
    exit 1
fi
PGHA_PKG_STAGE=$PGHA_PKG_DIST/stage
PGHA_PKG_BIN_EL6=$PGHA_PKG_BIN-el6
PGHA_EL6_GO=${PGHA_EL6_GO:-go1.23.12}

PGHA_PKG_VERSION=$(pkg_version)
PGHA_PKG_ARCH=$($GO env GOARCH)
PGHA_PKG_MAINTAINER=${PGHA_PKG_MAINTAINER:-$(git log -1 --format='%an <%ae>' 2>/dev/null || echo 'pgha_exporter maintainers <root@localhost>')}
# Reproducible file times in the packages: the commit's time.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export PGHA_PKG_VERSION PGHA_PKG_ARCH PGHA_PKG_MAINTAINER SOURCE_DATE_EPOCH PGHA_PKG_BIN PGHA_PKG_STAGE PGHA_PKG_BIN_EL6

# The EL6 binary: the same source built by an older toolchain, which the go
# command downloads from the module proxy as golang.org/toolchain (checked
# against the checksum database), with dependency versions that support Go
# 1.23 (packaging/el6/go.mod, used with -modfile). GOFLAGS=-mod=readonly: the
# module file is never rewritten by a build.
echo "package.sh: building $PGHA_PKG_BIN_EL6 with $PGHA_EL6_GO (EL6, Linux 2.6.32)"
GOTOOLCHAIN=$PGHA_EL6_GO CGO_ENABLED=0 GOFLAGS=-mod=readonly $GO build -modfile=packaging/el6/go.mod \
    -trimpath -ldflags "${LDFLAGS:--s -w}" -o "$PGHA_PKG_BIN_EL6" ./cmd/pgha_exporter
built_by=$($GO version "$PGHA_PKG_BIN_EL6" | sed 's/^.*: //')
if [ "$built_by" != "$PGHA_EL6_GO" ]; then
    echo "package.sh: $PGHA_PKG_BIN_EL6 was built by $built_by, not $PGHA_EL6_GO" >&2
    exit 1
fi

# $PGHA_PKG_STAGE (dist/stage): what nfpm.yaml cannot express by itself.
#  - dashboards/*.json and alerts/*.yml are optional (nfpm fails on a glob that
#    matches nothing): copy what exists; nfpm ships the (maybe empty)
#    directories as trees. alerts/tests/ (promtool unit tests) is not shipped.
#  - the rpm variants of the unit and of the environment file name
#    /etc/sysconfig/pgha_exporter instead of /etc/default/pgha_exporter.
stage=$PGHA_PKG_STAGE
rm -rf "$stage"
mkdir -p "$stage/dashboards" "$stage/alerts" "$stage/rpm" "$stage/el6"
for f in dashboards/*.json; do
    if [ -f "$f" ]; then cp "$f" "$stage/dashboards/"; fi
done
for f in alerts/*.yml; do
    if [ -f "$f" ]; then cp "$f" "$stage/alerts/"; fi
done
chmod 0644 "$stage"/dashboards/* "$stage"/alerts/* 2>/dev/null || true
sed 's|/etc/default/pgha_exporter|/etc/sysconfig/pgha_exporter|g' \
    packaging/pgha_exporter.service >"$stage/rpm/pgha_exporter.service"
sed 's|^# /etc/default/pgha_exporter (Debian) or /etc/sysconfig/pgha_exporter (RHEL):|# /etc/sysconfig/pgha_exporter:|' \
    packaging/pgha_exporter.default >"$stage/rpm/pgha_exporter.sysconfig"
# EL6: the same file, read by the init script with the shell.
sed -e 's|^# /etc/default/pgha_exporter (Debian) or /etc/sysconfig/pgha_exporter (RHEL):|# /etc/sysconfig/pgha_exporter (EL6):|' \
    -e 's|^# environment of pgha_exporter.service. A configuration file of the|# environment of the init script /etc/rc.d/init.d/pgha_exporter. A configuration file of the|' \
    -e 's|^# Read by systemd (EnvironmentFile=), not by a shell: one NAME=value per line,|# Read by the init script with the shell (and exported): one NAME=value per line,|' \
    -e 's|^# no line continuation, no $(...). The value of PGHA_EXPORTER_ARGS is split on|# quote values with spaces, no $(...). The value of PGHA_EXPORTER_ARGS is split on|' \
    -e 's|^#   systemctl restart pgha_exporter|#   service pgha_exporter restart|' \
    -e 's|^# systemd reads it as root before it switches to pgha; keep that mode) or in|# the init script reads it as root before it switches to pgha; keep that mode) or in|' \
    packaging/pgha_exporter.default >"$stage/el6/pgha_exporter.sysconfig"

rm -f "$PGHA_PKG_DIST"/*.deb "$PGHA_PKG_DIST"/*.rpm
echo "package.sh: pgha-exporter $PGHA_PKG_VERSION ($PGHA_PKG_ARCH); dashboards: $(ls "$stage/dashboards" | wc -l), alert rule files: $(ls "$stage/alerts" | wc -l)"
for packager in deb rpm; do
    $NFPM package --config packaging/nfpm.yaml --packager "$packager" --target "$PGHA_PKG_DIST/"
done
$NFPM package --config packaging/nfpm-el6.yaml --packager rpm --target "$PGHA_PKG_DIST/"
ls -l "$PGHA_PKG_DIST"/*.deb "$PGHA_PKG_DIST"/*.rpm
