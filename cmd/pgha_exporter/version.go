package main

import (
	"runtime/debug"

	"github.com/prometheus/common/version"
)

// The Makefile sets the version variables of prometheus/common/version with
// -ldflags -X. A plain `go build` or `go install` leaves them empty; then
// they are filled in from what the go command recorded in the binary, before
// main runs, so that --version, the landing page, the start-up log line and
// pgha_exporter_build_info never show an empty version.
func init() { fillVersion(debug.ReadBuildInfo()) }

// fillVersion sets the empty version variables from bi:
//   - Version: the main module's version (go install ...@v1.2.3 records
//     it; Go 1.24+ also derives one from a git tag), else "devel" with the
//     commit ("devel-0123456789ab", "-dirty" for uncommitted changes), else
//     "devel".
//   - Revision: vcs.revision, with "-modified" for uncommitted changes.
//   - BuildDate: vcs.time, the commit's time.
func fillVersion(bi *debug.BuildInfo, ok bool) {
	if !ok || bi == nil {
		if version.Version == "" {
			version.Version = "devel"
		}
		return
	}
	var rev, vcsTime string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			vcsTime = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if version.Version == "" {
		v := bi.Main.Version
		if v == "" || v == "(devel)" {
			v = "devel"
			if rev != "" {
				v += "-" + rev[:min(len(rev), 12)]
				if modified {
					v += "-dirty"
				}
			}
		}
		version.Version = v
	}
	if version.Revision == "" && rev != "" {
		version.Revision = rev
		if modified {
			version.Revision += "-modified"
		}
	}
	if version.BuildDate == "" {
		version.BuildDate = vcsTime
	}
}
