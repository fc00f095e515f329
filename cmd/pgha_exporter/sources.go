package main

import (
	"errors"
	"time"

	"github.com/pgha/pgha_exporter/crm"
	"github.com/pgha/pgha_exporter/crm/corosync"
	"github.com/pgha/pgha_exporter/crm/runner"
)

// crmSource is the one way serve and check read Pacemaker, so that every
// flag choosing a source drives a metric and a check alike.
func crmSource(c *config, localNode string, timeout time.Duration) *crm.Source {
	return &crm.Source{Runner: runner.Exec{}, MonPath: c.crmMonPath, MonFile: c.crmMonFile, CibadminPath: c.cibadminPath,
		CIBFile: c.cibFile, Include: c.include, Timeout: timeout, LocalNode: localNode}
}

// corosyncSource is the one way serve and check read corosync or CMAN.
func corosyncSource(c *config, timeout time.Duration) *corosync.Source {
	return &corosync.Source{Runner: runner.Exec{}, Stack: c.corosyncStack, CfgtoolPath: c.cfgtoolPath,
		QuorumtoolPath: c.quorumtoolPath, CmanToolPath: c.cmanToolPath, Timeout: timeout}
}

// validateSources refuses flag combinations that would be silently ignored.
func validateSources(c *config) error {
	if c.cibFile != "" && c.crmMonFile == "" {
		return errors.New("--crm.cib-file needs --crm.mon-file (a live crm_mon is paired with a live cibadmin, not a file)")
	}
	return nil
}
