# Regenerates alerts/tests/*.yml for promtool test rules:
#   python3 alerts/tests/gen/gen_tests.py   (needs python3-yaml)
# Series are built from the exporter's golden exposition files and the
# live recordings; review the diff of the generated YAML before committing.
import copy
import os
import re

from lib import *

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
ALL = sorted(ALERTS)


def fix_clone(s):
    roles = [r for r in s['roles'] if r[0] == 'postgresql']
    p = sum(1 for r in roles if r[2] == 'promoted')
    u = sum(1 for r in roles if r[2] == 'unpromoted')
    s['clone'] = {'promoted': p, 'unpromoted': u, 'started': 0, 'stopped': 3 - p - u}
    return s


def node_offline(s, n, data_status='DISCONNECT'):
    s['nodes'][n]['online'] = 0
    s['roles'] = [r for r in s['roles'] if r[1] != n]
    s['scores'].pop(n, None)
    if n in s['pgsql']:
        s['pgsql'][n] = (None, data_status, None)
    return fix_clone(s)


def H():
    return healthy_pcmk()


BASE = ['pgha_pacemaker_quorate$', 'pgha_pacemaker_dc_present$']
# The series the pgsql and promotion rules read.
VIEW = BASE + ['pgha_pacemaker_node_(online|standby|maintenance)$', 'pgha_pacemaker_resource_(role|info)$',
               'pgha_pacemaker_promotion_score$', 'pgha_pacemaker_clone_', 'pgha_pgsql_', 'pgha_postgres_', 'pgha_local_']


# What every scrape holds whatever a test keeps: the target, the exporter's
# identity and its collectors' outcome (a subset without them is no scrape).
ALWAYS = ['up$', 'pgha_exporter_build_info$', 'pgha_scrape_collector_success$', 'pgha_pacemaker_local_node_info$',
          'pgha_postgres_up$']


def test(name, phases, alerts=None, promql=None, keep=None, step=STEP_S):
    if keep is not None:
        rx = re.compile('|'.join('(?:%s)' % k for k in list(keep) + ALWAYS))
        phases = [({k: v for k, v in snap.items() if rx.match(k[0])}, m) for snap, m in phases]
    nodes = {}
    for snap, _ in phases:
        for (n, labels) in snap:
            if n == 'pgha_pacemaker_local_node_info':
                d = dict(labels)
                nodes.setdefault(d['instance'], d['node'])
    return {'name': name, 'series': timeline(phases, step), 'alerts': finish(alerts or [], nodes), 'promql': promql or []}


# =================================================================== healthy
def healthy_tests():
    tests = []
    al = []
    for t in ('5m', '20m', '45m'):
        al += quiet(t, *ALL)
    tests.append(test('A healthy 3-node cluster (the 01-healthy recording: PRI/HS:sync/HS:async, promotion scores 1000/100/-Inf, VIPs on the primary), seen by three exporters, with stonith enabled: no alert fires.',
                      [(healthy(), 50)], al))

    real = real_cluster(pcmk=live('01-healthy'), coro=COROSYNC_HEALTHY, pg=PG_HEALTHY)
    al = []
    for t in ('5m', '20m', '45m'):
        al += quiet(t, *[a for a in ALL if a != 'PghaStonithDisabled'])
    al += quiet('5m', 'PghaStonithDisabled')
    al.append(fires('20m', 'PghaStonithDisabled', ({}, None)))
    tests.append(test('The real recordings verbatim: the 01-healthy Pacemaker exposition of each node, the live corosync exposition, primary-healthy-pg15 on pgdb1 and standby-healthy-pg15 on pgdb2 and pgdb3. The lab runs with stonith-enabled=false, which is the only alert.',
                      [(real, 50)], al))

    dead = cluster(pcmk=H(), pg=healthy_pg(), coro=healthy_coro(), alive=['pgdb1', 'pgdb3'])
    al = []
    for t in ('10m', '45m'):
        al += quiet(t, *[a for a in ALL if a != 'PghaExporterDown'])
        al.append(fires(t, 'PghaExporterDown', ({'instance': 'pgdb2:9732'}, 0)))
    al += quiet('6m', 'PghaExporterDown')
    tests.append(test('Healthy cluster, pgdb2\'s exporter dies at 5m: PghaExporterDown for pgdb2 only; the two other exporters still report the whole cluster, nothing else fires.',
                      [(healthy(), 5), (dead, 45)], al))
    return tests


# =================================================================== exporter
def exporter_tests():
    tests = []
    other = healthy()
    other[('up', (('instance', 'node1:9100'), ('job', 'node')))] = 0
    al = quiet('10m', 'PghaExporterDown')
    tests.append(test('A down target of another job is not pgha_exporter: PghaExporterDown stays quiet.',
                      [(other, 15)], al, keep=['up$']))

    blip = cluster(pcmk=H(), pg=healthy_pg(), coro=healthy_coro(), alive=['pgdb1', 'pgdb3'])
    al = quiet('6m', 'PghaExporterDown') + quiet('8m', 'PghaExporterDown')
    tests.append(test('pgdb2\'s exporter misses scrapes for 1 minute (restart): shorter than for: 2m, no alert.',
                      [(healthy(), 5), (blip, 1), (healthy(), 5)], al, keep=['up$']))

    pg = healthy_pg()
    pg['pgdb2'] = {'role': 'down'}
    failing = cluster(pcmk=H(), pg=pg, coro=healthy_coro())
    al = [fires('10m', 'PghaCollectorFailed', ({'instance': 'pgdb2:9732', 'collector': 'postgres'}, 0))]
    al += quiet('6m', 'PghaCollectorFailed')
    tests.append(test('The postgres collector of pgdb2 fails from 5m (PostgreSQL refuses the exporter: pgha_postgres_up 0, success 0) on an exporter that has no Pacemaker view (--no-collector.pacemaker, or its series not kept here): nobody says whether PostgreSQL should run, PghaCollectorFailed after 2 minutes.',
                      [(healthy(), 5), (failing, 10)], al, keep=['pgha_scrape_collector_success']))

    stale_failed = cluster(pcmk=H(), views={'pgdb1': None}, pg=healthy_pg(), coro=healthy_coro(),
                           ages={'pgdb1': {'pacemaker': 300}}, collectors={'pgdb1': {'pacemaker': 0}})
    al = [fires('13m', 'PghaCollectorFailed', ({'instance': 'pgdb1:9732', 'collector': 'pacemaker'}, 0))]
    al += quiet('6m', 'PghaCollectorFailed')
    tests.append(test('crm_mon hangs on pgdb1 from 5m: once the snapshot is older than --crm.max-age the Pacemaker collector fails and only the bookkeeping series remain; the two other exporters still report the cluster.',
                      [(healthy(), 5), (stale_failed, 10)], al + quiet('13m', 'PghaNodeOffline', 'PghaPacemakerNoQuorum'), keep=BASE + ['pgha_scrape_collector_success', '.*snapshot_age', 'pgha_pacemaker_node_online']))
    return tests


# =================================================================== pacemaker
def pacemaker_tests():
    tests = []
    # Power loss of pgdb3.
    v = node_offline(H(), 'pgdb3')
    coro = {n: {'quorate': 1, 'members': ['pgdb1', 'pgdb2'],
                'links': {('0', '1'): 1, ('0', '2'): 1, ('0', '3'): 0}} for n in ('pgdb1', 'pgdb2')}
    pg = healthy_pg()
    pg['pgdb1'] = pg_primary([('pgdb2', 'sync', 0)])
    lost = cluster(pcmk=v, pg=pg, coro=coro, alive=['pgdb1', 'pgdb2'])
    al = [fires('10m', 'PghaNodeOffline', ({'node': 'pgdb3'}, 0)),
          fires('10m', 'PghaExporterDown', ({'instance': 'pgdb3:9732'}, 0)),
          fires('10m', 'PghaPgsqlStandbyDisconnected', ({'node': 'pgdb3', 'resource': 'postgresql', 'data_status': 'DISCONNECT'}, 1))]
    al += quiet('5m45s', 'PghaNodeOffline')
    al += quiet('10m', 'PghaPacemakerNoQuorum', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate',
                'PghaCorosyncLinkDisconnected', 'PghaCorosyncQuorumLost', 'PghaPromotableCloneNotOnePromoted',
                'PghaPostgresNoSyncStandby', 'PghaNodeUnclean')
    tests.append(test('The async standby pgdb3 loses power at 5m (scenario 11): its exporter disappears, pgdb1 and pgdb2 report it offline: one PghaNodeOffline, not two.',
                      [(healthy(), 5), (lost, 10)], al))

    # Partition: pgdb3 isolated, still scraped.
    major = node_offline(H(), 'pgdb3')
    iso = H()
    iso['quorate'] = 0
    for n in ('pgdb1', 'pgdb2'):
        iso = node_offline(iso, n, data_status={'pgdb1': 'LATEST', 'pgdb2': 'STREAMING|SYNC'}[n])
    iso['roles'] = []
    iso['scores'] = {'pgdb3': -INF}
    iso['pgsql']['pgdb3'] = ('STOP', 'STREAMING|ASYNC', 0)
    iso = fix_clone(iso)
    iso['failed'] = {}
    coro = healthy_coro()
    for n in ('pgdb1', 'pgdb2'):
        coro[n] = {'quorate': 1, 'members': ['pgdb1', 'pgdb2'], 'links': {('0', '1'): 1, ('0', '2'): 1, ('0', '3'): 0}}
    coro['pgdb3'] = {'quorate': 0, 'members': ['pgdb3'], 'links': {('0', '1'): 0, ('0', '2'): 0, ('0', '3'): 1}}
    pg = healthy_pg()
    pg['pgdb1'] = pg_primary([('pgdb2', 'sync', 0)])
    pg['pgdb3'] = {'role': 'down'}
    part = cluster(pcmk=major, views={'pgdb3': iso}, pg=pg, coro=coro)
    al = [fires('10m', 'PghaNodeOffline', ({'node': 'pgdb3'}, 0)),
          fires('10m', 'PghaCorosyncQuorumLost', ({'instance': 'pgdb3:9732'}, 0)),
          fires('10m', 'PghaPgsqlStandbyDisconnected', ({'node': 'pgdb3', 'resource': 'postgresql', 'data_status': 'DISCONNECT'}, 1))]
    al += quiet('10m', 'PghaPacemakerNoQuorum', 'PghaPromotableCloneNotOnePromoted', 'PghaPgsqlNoPrimary',
                'PghaVipNotOnPrimary', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate', 'PghaExporterDown',
                'PghaPostgresDown', 'PghaCorosyncLinkDisconnected', 'PghaCollectorFailed', 'PghaPostgresNoPrimary')
    al.append(fires('10m', 'PghaNodeLostAtMinimumQuorum', ({}, 0)))
    tests.append(test('Network partition (scenario 9): pgdb3 is isolated but Prometheus still scrapes it. Its inquorate view (itself online, pgdb1/pgdb2 offline, nothing promoted) is not believed: only pgdb3 is offline, the clone still has one primary, no cluster-wide quorum alert; the majority is at minimum quorum (the page); pgdb3\'s PostgreSQL, stopped by Pacemaker there, is no collector failure.',
                      [(healthy(), 5), (part, 10)], al))

    # Dead exporter cannot fake.
    glitch = copy.deepcopy(H())
    glitch = node_offline(glitch, 'pgdb3')
    glitch['failed'] = {('vip-master', 'pgdb1'): 1}
    fake = cluster(pcmk=H(), views={'pgdb2': glitch}, pg=healthy_pg(), coro=healthy_coro())
    dead = cluster(pcmk=H(), pg=healthy_pg(), coro=healthy_coro(), alive=['pgdb1', 'pgdb3'])
    al = quiet('3m', 'PghaNodeOffline', 'PghaResourceFailed') + quiet('8m', 'PghaNodeOffline', 'PghaResourceFailed')
    al.append(fires('8m', 'PghaExporterDown', ({'instance': 'pgdb2:9732'}, 0)))
    tests.append(test('pgdb2\'s exporter reports pgdb3 offline and vip-master failed in its last scrape (30 s), then dies: its series go stale at once, so the frozen values fake nothing.',
                      [(healthy(), 1), (fake, 0.5), (dead, 9)], al, keep=BASE + ['up$', 'pgha_pacemaker_node_online', 'pgha_pacemaker_resource_failed']))

    # No quorum: pgdb2 and pgdb3 power off.
    alone = H()
    alone['quorate'] = 0
    alone = node_offline(alone, 'pgdb2')
    alone = node_offline(alone, 'pgdb3')
    alone['roles'] = []
    alone = fix_clone(alone)
    alone['pgsql']['pgdb1'] = ('STOP', 'LATEST', None)
    coro = {'pgdb1': {'quorate': 0, 'members': ['pgdb1'], 'links': {('0', '1'): 1, ('0', '2'): 0, ('0', '3'): 0}}}
    nq = cluster(pcmk=alone, pg={'pgdb1': {'role': 'down'}}, coro=coro, alive=['pgdb1'])
    al = [fires('10m', 'PghaPacemakerNoQuorum', ({}, 0)),
          fires('10m', 'PghaNodeOffline', ({'node': 'pgdb2'}, 0), ({'node': 'pgdb3'}, 0)),
          fires('10m', 'PghaPromotableCloneNotOnePromoted', ({'clone': 'mspostgresql', 'role': 'promoted'}, 0)),
          fires('10m', 'PghaPgsqlNoPrimary', ({'resource': 'postgresql'}, 0))]
    al += quiet('5m15s', 'PghaPacemakerNoQuorum')
    al += quiet('10m', 'PghaPacemakerNoDC', 'PghaPostgresDown', 'PghaCorosyncQuorumLost', 'PghaCollectorFailed',
                'PghaPostgresNoPrimary')
    tests.append(test('The sync and async standbys lose power at 5m (scenario 13): pgdb1 is alone without quorum and stops PostgreSQL (no-quorum-policy=stop). With no quorate exporter left, pgdb1\'s view is believed. The cluster-wide PghaPacemakerNoQuorum replaces pgdb1\'s PghaCorosyncQuorumLost; pgdb1\'s PostgreSQL, stopped by Pacemaker, is no collector failure; PghaPostgresNoPrimary waits for the dead exporters (Pacemaker says it: no primary).',
                      [(healthy(), 5), (nq, 10)], al))

    # No DC.
    nodc = {'quorate': None, 'dc': 0, 'stonith': 0, 'maint': 0, 'nodes': {}, 'roles': [], 'failed': {},
            'failcount': {}, 'threshold': {}, 'scores': {}, 'pgsql': {}, 'clone': {}, 'constraints': []}
    start = cluster(pcmk=nodc)
    al = [fires('5m', 'PghaPacemakerNoDC', ({}, 0))]
    al += quiet('30s', 'PghaPacemakerNoDC')
    al += quiet('15m', 'PghaStonithDisabled', 'PghaPacemakerNoQuorum')
    tests.append(test('Every node starts and no DC is elected (the single-node-startup 06-no-dc-yet recording: no quorum line, stonith not yet read): PghaPacemakerNoDC; the defaults of a view without DC raise nothing else.',
                      [(start, 20)], al))
    one_dc = cluster(pcmk=nodc, views={'pgdb1': H()})
    al = quiet('10m', 'PghaPacemakerNoDC')
    tests.append(test('Only pgdb2 and pgdb3 have no DC, pgdb1 sees one: the cluster has a DC.',
                      [(one_dc, 15)], al))

    # Unclean.
    u = node_offline(H(), 'pgdb3')
    u['nodes']['pgdb3']['unclean'] = 1
    al = [fires('8m', 'PghaNodeUnclean', ({'node': 'pgdb3'}, 1))]
    al += quiet('5m30s', 'PghaNodeUnclean')
    tests.append(test('pgdb3 becomes UNCLEAN at 5m (lost without a clean shutdown, waiting to be fenced).',
                      [(healthy(), 5), (cluster(pcmk=u), 5)], al, keep=BASE + ['pgha_pacemaker_node_']))

    # Standby (03 recording).
    sb = cluster(pcmk=sync_node_standby_pcmk())
    al = [fires('40m', 'PghaNodeStandby', ({'node': 'pgdb2'}, 1))]
    al += quiet('20m', 'PghaNodeStandby')
    al += quiet('40m', 'PghaPgsqlStandbyDisconnected', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate',
                'PghaNodeOffline', 'PghaPromotableCloneNotOnePromoted', 'PghaVipNotOnPrimary')
    tests.append(test('The sync standby pgdb2 is put in standby at 5m (the 03-sync-standby-node-standby recording: pgdb3 became HS:sync/100): PghaNodeStandby after 30 minutes, and no pgsql alert (its DISCONNECT is expected).',
                      [(healthy(), 5), (sb, 40)], al, keep=VIEW))

    # Node maintenance.
    m = H()
    m['nodes']['pgdb3']['maintenance'] = 1
    al = [fires('40m', 'PghaNodeMaintenance', ({'node': 'pgdb3'}, 1))]
    al += quiet('20m', 'PghaNodeMaintenance')
    tests.append(test('pgdb3 is put in maintenance at 5m: PghaNodeMaintenance after 30 minutes.',
                      [(healthy(), 5), (cluster(pcmk=m), 40)], al, keep=BASE + ['pgha_pacemaker_node_']))

    # Cluster maintenance-mode.
    m = H()
    m['maint'] = 1
    al = [fires('25m', 'PghaClusterMaintenanceMode', ({}, 1))]
    al += quiet('15m', 'PghaClusterMaintenanceMode')
    tests.append(test('maintenance-mode=true from 5m: PghaClusterMaintenanceMode after 15 minutes.',
                      [(healthy(), 5), (cluster(pcmk=m), 25)], al, keep=BASE + ['pgha_pacemaker_maintenance_mode']))

    # Stonith absent on 1.1.13.
    old = H()
    old['stonith'] = None
    old['maint'] = None
    al = quiet('20m', 'PghaStonithDisabled', 'PghaClusterMaintenanceMode')
    tests.append(test('Pacemaker 1.1.13 prints no cluster options: stonith-enabled is absent (unknown, not false), PghaStonithDisabled stays quiet.',
                      [(cluster(pcmk=old), 25)], al, keep=BASE + ['pgha_pacemaker_stonith_enabled', 'pgha_pacemaker_maintenance_mode']))

    # Resource failed.
    f = H()
    f['failed'] = {('vip-master', 'pgdb1'): 1}
    al = [fires('8m', 'PghaResourceFailed', ({'resource': 'vip-master', 'node': 'pgdb1'}, 1))]
    al += quiet('5m30s', 'PghaResourceFailed')
    tests.append(test('vip-master is FAILED on pgdb1 from 5m (scenario 5: the client VIP resource fails and cannot recover).',
                      [(healthy(), 5), (cluster(pcmk=f), 5)], al, keep=BASE + ['pgha_pacemaker_resource_failed']))

    # Promoted instances.
    none = H()
    none['roles'] = [('postgresql', 'pgdb1', 'unpromoted'), ('postgresql', 'pgdb2', 'unpromoted'),
                     ('postgresql', 'pgdb3', 'unpromoted')]
    none = fix_clone(none)
    two = H()
    two['roles'].append(('postgresql', 'pgdb3', 'promoted'))
    two['roles'].remove(('postgresql', 'pgdb3', 'unpromoted'))
    two = fix_clone(two)
    al = [fires('8m', 'PghaPromotableCloneNotOnePromoted', ({'clone': 'mspostgresql', 'role': 'promoted'}, 0)),
          fires('18m', 'PghaPromotableCloneNotOnePromoted', ({'clone': 'mspostgresql', 'role': 'promoted'}, 2))]
    al += quiet('5m30s', 'PghaPromotableCloneNotOnePromoted')
    al += quiet('24m', 'PghaPromotableCloneNotOnePromoted')
    tests.append(test('The promotable clone has no promoted instance from 5m, two from 10m, one again from 20m.',
                      [(healthy(), 5), (cluster(pcmk=none), 5), (cluster(pcmk=two), 10), (healthy(), 5)], al, keep=BASE + ['pgha_pacemaker_clone_']))
    trans = cluster(pcmk=fix_clone(node_offline(H(), 'pgdb1')))
    al = quiet('7m', 'PghaPromotableCloneNotOnePromoted', 'PghaPgsqlNoPrimary', 'PghaVipNotOnPrimary')
    tests.append(test('A failover (scenario 2, the lab: new primary and VIPs 4.4-5.4 s after kill -9): 15 s without a primary, then the 05-primary-postgres-killed-failover recording. No promotion alert.',
                      [(healthy(), 5), (trans, 0.25), (cluster(pcmk=failover_pcmk()), 5)], al, keep=VIEW))

    # Failover event: the primary moved (old_primary pgdb1, node pgdb3), for
    # 15 minutes; not on a cluster start (no primary before).
    al = [fires('6m', 'PghaFailoverRecent', ({'clone': 'mspostgresql', 'node': 'pgdb3', 'old_primary': 'pgdb1'}, 1)),
          fires('19m', 'PghaFailoverRecent', ({'clone': 'mspostgresql', 'node': 'pgdb3', 'old_primary': 'pgdb1'}, 1))]
    al += quiet('4m', 'PghaFailoverRecent')
    al += quiet('21m', 'PghaFailoverRecent')
    tests.append(test('A failover (scenario 2: 15 s without a primary, then pgdb3 promoted): PghaFailoverRecent names the new primary and the old one for 15 minutes, then clears.',
                      [(healthy(), 5), (trans, 0.25), (cluster(pcmk=failover_pcmk()), 20)], al, keep=VIEW + ['pgha_pacemaker_primary$']))
    al = quiet('3m', 'PghaFailoverRecent') + quiet('10m', 'PghaFailoverRecent')
    tests.append(test('Cluster start: nothing promoted for 2 minutes, then pgdb1: a first primary is no failover.',
                      [(cluster(pcmk=none), 2), (healthy(), 10)], al, keep=VIEW + ['pgha_pacemaker_primary$']))

    # Fencing.
    def fenced(n_failed, n_ok=0):
        s = H()
        s['fence'] = {('pgdb3', 'reboot', 'failed'): n_failed}
        if n_ok:
            s['fence'][('pgdb3', 'reboot', 'success')] = n_ok
        return cluster(pcmk=s)
    al = [fires('36m', 'PghaFencingFailed', ({'target': 'pgdb3', 'action': 'reboot', 'node': 'pgdb3'}, 1)),
          fires('50m', 'PghaFencingFailed', ({'target': 'pgdb3', 'action': 'reboot', 'node': 'pgdb3'}, 2))]
    al += quiet('34m', 'PghaFencingFailed') + quiet('76m', 'PghaFencingFailed') + quiet('84m', 'PghaFencingFailed')
    tests.append(test('A reboot of pgdb3 fails at 35m, again at 45m, then succeeds at 50m (the failed entries stay in the fence history): PghaFencingFailed from the first failure until 30 minutes after the last, with the target as node.',
                      [(healthy(), 35), (fenced(1), 10), (fenced(2), 5), (fenced(2, 1), 35)], al, keep=BASE + ['pgha_pacemaker_fence_events$']))
    al = quiet('1m', 'PghaFencingFailed') + quiet('40m', 'PghaFencingFailed')
    tests.append(test('First deployment on a cluster whose fence history already holds a failed reboot of pgdb3: no page for an old failure.',
                      [(fenced(1, 1), 45)], al, keep=BASE + ['pgha_pacemaker_fence_events$']))

    # VIPs.
    stuck = failover_pcmk()
    stuck['roles'] = [('postgresql', 'pgdb3', 'promoted'), ('vip-master', 'pgdb1', 'started'),
                      ('vip-rep', 'pgdb1', 'started'), ('postgresql', 'pgdb2', 'unpromoted')]
    al = [fires('8m', 'PghaVipNotOnPrimary', ({'resource': 'vip-master'}, 1), ({'resource': 'vip-rep'}, 1))]
    al += quiet('5m30s', 'PghaVipNotOnPrimary')
    tests.append(test('pgdb3 is promoted but the VIPs stay on pgdb1 (colocation broken): both VIPs are reported.',
                      [(healthy(), 5), (cluster(pcmk=stuck), 5)], al, keep=VIEW))
    gone = H()
    gone['roles'] = [r for r in gone['roles'] if r[0] != 'vip-rep']
    gone['roles'].append(('vip-rep', '', 'stopped'))
    al = [fires('8m', 'PghaVipNotOnPrimary', ({'resource': 'vip-rep'}, 1))]
    al += quiet('8m', 'PghaResourceFailed')
    tests.append(test('vip-rep is stopped (scenario 4, vip-rep fails with migration-threshold=0 and cannot start): reported as not on the primary.',
                      [(healthy(), 5), (cluster(pcmk=gone), 5)], al, keep=VIEW))

    # Fail counts.
    def fc(v, thr=3, res='postgresql', node='pgdb2'):
        s = H()
        s['failcount'][(res, node)] = v
        s['threshold'][(res, node)] = thr
        return cluster(pcmk=s)
    FC = BASE + ['pgha_pacemaker_failcount', 'pgha_pacemaker_migration_threshold']
    lab = {'resource': 'postgresql', 'node': 'pgdb2'}
    al = [fires('7m', 'PghaResourceFailCountRising', (lab, 1)),
          fires('12m', 'PghaResourceFailCountNearThreshold', (lab, 2)),
          fires('17m', 'PghaResourceBannedByFailCount', (lab, 3))]
    al += quiet('7m', 'PghaResourceFailCountNearThreshold', 'PghaResourceBannedByFailCount')
    al += quiet('12m', 'PghaResourceFailCountRising', 'PghaResourceBannedByFailCount')
    al += quiet('17m', 'PghaResourceFailCountRising', 'PghaResourceFailCountNearThreshold')
    al += quiet('4m', 'PghaResourceFailCountRising', 'PghaResourceFailCountNearThreshold', 'PghaResourceBannedByFailCount')
    tests.append(test('migration-threshold=3 for postgresql on pgdb2; its fail count goes 0, 1 (5m), 2 (10m), 3 (15m): rising, then one failure before the ban (>= threshold-1), then banned (>= threshold).',
                      [(fc(0), 5), (fc(1), 5), (fc(2), 5), (fc(3), 5)], al, keep=FC))
    al = quiet('24m', 'PghaResourceFailCountRising') + [fires('8m', 'PghaResourceFailCountRising', (lab, 1))]
    tests.append(test('With the default migration-threshold (+Inf) a fail count of 1 is reported rising for 15 minutes, never near or at the threshold.',
                      [(fc(0, INF), 5), (fc(1, INF), 20)], al + quiet('8m', 'PghaResourceFailCountNearThreshold', 'PghaResourceBannedByFailCount'), keep=FC))
    vip = {'resource': 'vip-rep', 'node': 'pgdb1'}
    al = [fires('8m', 'PghaResourceFailCountRising', (vip, 5))]
    al += quiet('8m', 'PghaResourceFailCountNearThreshold', 'PghaResourceBannedByFailCount')
    tests.append(test('vip-rep has migration-threshold=0 (banning disabled): 5 failures are rising, never a ban.',
                      [(fc(0, 0, 'vip-rep', 'pgdb1'), 5), (fc(5, 0, 'vip-rep', 'pgdb1'), 5)], al, keep=FC))
    al = quiet('8m', 'PghaResourceFailCountNearThreshold', 'PghaResourceBannedByFailCount', 'PghaResourceFailCountRising')
    tests.append(test('migration-threshold=1 (the lab) with fail count 0: threshold-1 is 0, but no failure happened, nothing fires.',
                      [(fc(0, 1), 10)], al, keep=FC))
    p1 = {'resource': 'postgresql', 'node': 'pgdb1'}
    al = [fires('8m', 'PghaResourceBannedByFailCount', (p1, 1)),
          fires('18m', 'PghaResourceBannedByFailCount', (p1, INF))]
    al += quiet('8m', 'PghaResourceFailCountRising', 'PghaResourceFailCountNearThreshold')
    al += quiet('18m', 'PghaResourceFailCountRising', 'PghaResourceFailCountNearThreshold')
    tests.append(test('The 05 failover recording (monitor failure, fail count 1 = migration-threshold 1: banned), then the 06 recording (start failed on the PGSQL.lock, fail count INFINITY).',
                      [(healthy(), 5), (cluster(pcmk=failover_pcmk()), 10), (cluster(pcmk=start_failed_pcmk()), 10)], al, keep=FC))
    al = [fires('5m', 'PghaResourceBannedByFailCount', ({'resource': 'postgresql', 'node': 'pgdb2'}, INF))]
    tests.append(test('A failed start gives fail count INFINITY, which reaches even the default migration-threshold INFINITY (>=).',
                      [(fc(INF, INF), 10)], al, keep=FC))

    lab3 = {'resource': 'postgresql', 'node': 'pgdb2'}
    al = quiet('1m', 'PghaResourceFailCountRising') + quiet('5m', 'PghaResourceFailCountRising') + quiet('16m', 'PghaResourceFailCountRising')
    tests.append(test('First deployment: the fail count is 1 (migration-threshold 3) from the first sample on. Nothing to compare with is not "rising".',
                      [(fc(1), 20)], al, keep=FC))
    al = quiet('26m', 'PghaResourceFailCountRising') + quiet('30m', 'PghaResourceFailCountRising')
    tests.append(test('A monitoring gap: fail count 1 until 5m, no samples for 20 minutes, 1 again from 25m. Unchanged across the gap: not rising.',
                      [(fc(1), 5), ({}, 20), (fc(1), 10)], al, keep=FC))
    al = [fires('12m', 'PghaResourceFailCountRising', (lab3, 1))]
    al += quiet('9m', 'PghaResourceFailCountRising')
    tests.append(test('Fail count 1, cleaned up at 5m (0), failing again at 10m (1): rising, against the real lower sample of the last 15 minutes.',
                      [(fc(1), 5), (fc(0), 5), (fc(1), 10)], al, keep=FC))

    # cli constraints.
    c = H()
    c['constraints'] = [('cli-ban-mspostgresql-on-pgdb1', 'mspostgresql', 'pgdb1', '', -INF),
                        ('location-vip-master', 'vip-master', 'pgdb3', '', -INF)]
    al = [fires('40m', 'PghaLeftoverCliConstraint', ({'id': 'cli-ban-mspostgresql-on-pgdb1', 'resource': 'mspostgresql', 'node': 'pgdb1', 'role': ''}, -INF))]
    al += quiet('20m', 'PghaLeftoverCliConstraint')
    tests.append(test('A cli-ban left by crm_resource --ban (or the agent\'s self-ban) stays for 35 minutes; a configured location constraint is not reported.',
                      [(healthy(), 5), (cluster(pcmk=c), 40)], al, keep=BASE + ['pgha_pacemaker_location_constraint']))
    return tests


# =================================================================== pgsql
def pgsql_tests():
    tests = []
    # Sync standby killed, the async takes over (lab: 4.5-5 s).
    k = H()
    k['roles'].remove(('postgresql', 'pgdb2', 'unpromoted'))
    k = fix_clone(k)
    k['scores'] = {'pgdb1': 1000, 'pgdb2': -INF, 'pgdb3': -INF}
    k['pgsql']['pgdb2'] = ('STOP', 'DISCONNECT', 0)
    after = copy.deepcopy(k)
    after['scores']['pgdb3'] = 100
    after['pgsql']['pgdb3'] = ('HS:sync', 'STREAMING|SYNC', 1)
    pg_k = {'pgdb1': pg_primary([('pgdb3', 'async', 0)]), 'pgdb2': {'role': 'down'}, 'pgdb3': pg_standby()}
    pg_a = {'pgdb1': pg_primary([('pgdb3', 'sync', 0)]), 'pgdb2': {'role': 'down'}, 'pgdb3': pg_standby()}
    al = quiet('8m', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate', 'PghaPostgresNoSyncStandby',
               'PghaPostgresWritesBlocked', 'PghaPgsqlReceiverError', 'PghaPgsqlNoPrimary')
    al += quiet('10m', 'PghaCollectorFailed', 'PghaPostgresDown')
    tests.append(test('The sync standby pgdb2\'s PostgreSQL is killed at 5m (scenario 7); the pgsql agent makes pgdb3 HS:sync 15 s later (lab: 4.5-5 s): no sync-standby alert; pgdb2, banned and stopped by Pacemaker, is no collector failure.',
                      [(healthy(), 5), (cluster(pcmk=k, pg=pg_k), 0.25), (cluster(pcmk=after, pg=pg_a), 5)], al, keep=VIEW))

    # Sync lost, not replaced.
    al = [fires('8m', 'PghaPgsqlNoSyncStandby', ({'resource': 'postgresql'}, 0)),
          fires('8m', 'PghaPgsqlNoFailoverCandidate', ({'resource': 'postgresql'}, 0)),
          fires('8m', 'PghaPgsqlStandbyDisconnected', ({'node': 'pgdb2', 'resource': 'postgresql', 'data_status': 'DISCONNECT'}, 1)),
          fires('8m', 'PghaPostgresNoSyncStandby', ({'instance': 'pgdb1:9732'}, 0))]
    al += quiet('5m45s', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate')
    al += quiet('8m', 'PghaPgsqlReceiverError', 'PghaPgsqlNoPrimary', 'PghaPostgresWritesBlocked')
    tests.append(test('The sync standby pgdb2 is lost at 5m and pgdb3 stays HS:async (STREAMING|ASYNC, -INFINITY): no sync standby, no failover candidate; pgdb2\'s stale receiver ERROR is not a running standby\'s.',
                      [(healthy(), 5), (cluster(pcmk=k, pg=pg_k), 5)], al))

    # Stale HS:sync.
    st = H()
    st = node_offline(st, 'pgdb2')
    st['pgsql']['pgdb2'] = ('HS:sync', 'DISCONNECT', None)
    al = [fires('8m', 'PghaPgsqlNoSyncStandby', ({'resource': 'postgresql'}, 0))]
    tests.append(test('pgdb2 still shows -status HS:sync but the primary has set its data-status to DISCONNECT (stale status): not a sync standby.',
                      [(healthy(), 5), (cluster(pcmk=st), 5)], al, keep=VIEW))

    # 05 failover recording.
    pg_f = {'pgdb1': {'role': 'down'}, 'pgdb3': pg_primary([('pgdb2', 'sync', 0)]), 'pgdb2': pg_standby()}
    al = [fires('10m', 'PghaPgsqlStandbyDisconnected', ({'node': 'pgdb1', 'resource': 'postgresql', 'data_status': 'DISCONNECT'}, 1))]
    al += quiet('10m', 'PghaPgsqlNoPrimary', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlNoFailoverCandidate',
                'PghaPgsqlReceiverError', 'PghaVipNotOnPrimary', 'PghaPromotableCloneNotOnePromoted',
                'PghaPostgresSplitBrain', 'PghaPostgresNoSyncStandby', 'PghaPostgresDown')
    tests.append(test('After the failover (the 05-primary-postgres-killed-failover recording: pgdb3 PRI/LATEST/1000, pgdb2 HS:sync/100, pgdb1 STOP/DISCONNECT/-INFINITY with receiver-status ERROR kept): the old primary is DISCONNECT and must be rebuilt.',
                      [(healthy(), 5), (cluster(pcmk=failover_pcmk(), pg=pg_f), 5)], al))

    # Receiver error on a running standby.
    r = H()
    r['pgsql']['pgdb3'] = ('HS:async', 'STREAMING|ASYNC', 0)
    al = [fires('8m', 'PghaPgsqlReceiverError', ({'node': 'pgdb3', 'resource': 'postgresql'}, 0))]
    al += quiet('5m30s', 'PghaPgsqlReceiverError')
    tests.append(test('The running standby pgdb3 reports receiver-status ERROR (no walreceiver) from 5m.',
                      [(healthy(), 5), (cluster(pcmk=r), 5)], al, keep=VIEW))

    # No primary.
    n = H()
    n['roles'] = [('postgresql', x, 'unpromoted') for x in NODES]
    n = fix_clone(n)
    n['scores'] = {x: -INF for x in NODES}
    n['pgsql'] = {'pgdb1': ('HS:alone', 'LATEST', 1), 'pgdb2': ('HS:alone', 'DISCONNECT', 1), 'pgdb3': ('HS:alone', 'DISCONNECT', 1)}
    al = [fires('8m', 'PghaPgsqlNoPrimary', ({'resource': 'postgresql'}, 0))]
    al += quiet('5m45s', 'PghaPgsqlNoPrimary')
    al += quiet('8m', 'PghaPgsqlNoFailoverCandidate', 'PghaPgsqlNoSyncStandby')
    tests.append(test('No node is PRI from 5m (every instance HS:alone, no promotion possible): PghaPgsqlNoPrimary; the sync and candidate alerts need a primary and stay quiet.',
                      [(healthy(), 5), (cluster(pcmk=n), 5)], al, keep=VIEW))

    # Only the primary left.
    o = H()
    for x in ('pgdb2', 'pgdb3'):
        o['nodes'][x]['standby'] = 1
        o['pgsql'][x] = ('STOP', 'DISCONNECT', None)
        o['scores'][x] = -INF
    o['roles'] = [r for r in o['roles'] if r[1] == 'pgdb1']
    o = fix_clone(o)
    al = [fires('8m', 'PghaPgsqlNoFailoverCandidate', ({'resource': 'postgresql'}, 0))]
    al += quiet('8m', 'PghaPgsqlNoSyncStandby', 'PghaPgsqlStandbyDisconnected')
    tests.append(test('Both standbys are put in standby: the primary is alone (one usable node, so no sync standby is expected), but there is no failover candidate.',
                      [(healthy(), 5), (cluster(pcmk=o), 5)], al, keep=VIEW))
    healthy_real = real_cluster(pcmk=live('01-healthy'), coro=COROSYNC_HEALTHY, pg=PG_HEALTHY)
    others = [x for x in ALL if x not in ('PghaStonithDisabled', 'PghaResourceBannedByFailCount', 'PghaPgsqlStandbyDisconnected',
                                          'PghaFailoverRecent')]
    f05 = real_cluster(pcmk=live('05-primary-postgres-killed-failover'), coro=COROSYNC_HEALTHY,
                       pg={'pgdb1': 'postgres/down.prom', 'pgdb2': 'postgres/standby-healthy-pg15.prom',
                           'pgdb3': 'postgres/primary-after-failover-pg15-pacemaker-agrees.prom'})
    f06 = real_cluster(pcmk=live('06-old-primary-start-failed-pgsql-lock'), coro=COROSYNC_HEALTHY,
                       pg={'pgdb1': 'postgres/down.prom', 'pgdb2': 'postgres/standby-healthy-pg15.prom',
                           'pgdb3': 'postgres/primary-after-failover-pg15-pacemaker-agrees.prom'})
    p1 = {'resource': 'postgresql', 'node': 'pgdb1'}
    al = [fires('12m', 'PghaResourceBannedByFailCount', (p1, 1)),
          fires('12m', 'PghaPgsqlStandbyDisconnected', ({**p1, 'data_status': 'DISCONNECT'}, 1)),
          fires('12m', 'PghaStonithDisabled', ({}, None)),
          fires('22m', 'PghaResourceBannedByFailCount', (p1, INF)),
          fires('12m', 'PghaFailoverRecent', ({'clone': 'mspostgresql', 'node': 'pgdb3', 'old_primary': 'pgdb1'}, 1))]
    al += quiet('12m', *others) + quiet('22m', *others) + quiet('22m', 'PghaFailoverRecent')
    tests.append(test('The real recordings verbatim, scenario 2: 01-healthy, then at 5m the 05-primary-postgres-killed-failover exposition of each node (pgdb3 promoted, VIPs moved, pgdb1 STOP/DISCONNECT with its receiver ERROR kept, fail count 1 = migration-threshold 1) with PostgreSQL down on pgdb1 and primary on pgdb3, then at 15m the 06 recording (restart refused by PGSQL.lock, fail count INFINITY). Exactly the ban, the DISCONNECT and the lab\'s stonith alert fire.',
                      [(healthy_real, 5), (f05, 10), (f06, 10)], al))
    f03 = real_cluster(pcmk=live('03-sync-standby-node-standby'), coro=COROSYNC_HEALTHY,
                       pg={'pgdb1': 'postgres/primary-idle-after-sync-move-pg15.prom', 'pgdb2': 'postgres/down.prom',
                           'pgdb3': 'postgres/standby-healthy-pg15.prom'})
    others = [x for x in ALL if x not in ('PghaStonithDisabled', 'PghaNodeStandby')]
    al = [fires('40m', 'PghaNodeStandby', ({'node': 'pgdb2'}, 1)), fires('40m', 'PghaStonithDisabled', ({}, None))]
    al += quiet('20m', 'PghaNodeStandby') + quiet('20m', *others) + quiet('40m', *others)
    tests.append(test('The real recordings verbatim: the sync standby pgdb2 put in standby (03-sync-standby-node-standby: pgdb3 HS:sync/100, pgdb2 STOP/DISCONNECT, its PostgreSQL stopped; the primary streams to pgdb3 synchronously). Only PghaNodeStandby after 30 minutes (and the lab\'s stonith alert).',
                      [(healthy_real, 5), (f03, 40)], al))
    return tests


# =================================================================== postgres
def postgres_tests():
    tests = []
    def pgc(pg, pcmk=None):
        return cluster(pcmk=pcmk or H(), pg=pg, coro=healthy_coro())
    PG = ['pgha_postgres_', 'pgha_local_']
    PGD = PG + ['pgha_pacemaker_local_node_info', 'pgha_pacemaker_resource_role', 'pgha_pacemaker_resource_info']
    sb = healthy_pg()
    sb['pgdb3'] = pg_primary([])
    al = [fires('6m', 'PghaPostgresSplitBrain', ({}, 2))]
    al += quiet('5m15s', 'PghaPostgresSplitBrain')
    tests.append(test('pgdb3 leaves recovery while pgdb1 is still a primary (split brain).',
                      [(pgc(healthy_pg()), 5), (pgc(sb), 5)], al, keep=PG))

    mm = healthy_pg()
    mm['pgdb2'] = pg_standby(mismatch=1)
    al = [fires('8m', 'PghaPostgresRoleMismatch', ({'instance': 'pgdb2:9732'}, 1))]
    al += quiet('5m30s', 'PghaPostgresRoleMismatch')
    tests.append(test('pgha_local_role_mismatch on pgdb2 from 5m.', [(pgc(healthy_pg()), 5), (pgc(mm), 5)], al, keep=PG))

    wb = healthy_pg()
    wb['pgdb1'] = pg_primary([('pgdb3', 'async', 0)], sync_standbys=0, names_set=1, writes_blocked=1)
    ok = healthy_pg()
    ok['pgdb1'] = pg_primary([('pgdb3', 'sync', 0)])
    al = [fires('6m', 'PghaPostgresWritesBlocked', ({'instance': 'pgdb1:9732'}, 1))]
    al += quiet('6m', 'PghaPostgresNoSyncStandby')
    al += quiet('12m', 'PghaPostgresWritesBlocked', 'PghaPostgresNoSyncStandby')
    tests.append(test('synchronous_standby_names still names the lost sync standby for 5 minutes (maintenance-mode: nobody clears it): writes blocked; the plain no-sync alert stays quiet.',
                      [(pgc(healthy_pg()), 5), (pgc(wb), 5), (pgc(ok), 5)], al, keep=PG))
    al = quiet('6m', 'PghaPostgresWritesBlocked')
    tests.append(test('Writes blocked for 15 s while the pgsql agent switches the sync standby: no alert.',
                      [(pgc(healthy_pg()), 5), (pgc(wb), 0.25), (pgc(ok), 5)], al, keep=PG))

    ns = healthy_pg()
    ns['pgdb1'] = pg_primary([('pgdb2', 'async', 0), ('pgdb3', 'async', 0)])
    al = [fires('8m', 'PghaPostgresNoSyncStandby', ({'instance': 'pgdb1:9732'}, 0))]
    al += quiet('5m30s', 'PghaPostgresNoSyncStandby')
    tests.append(test('The pgsql agent has cleared synchronous_standby_names: both standbys stream asynchronously.',
                      [(pgc(healthy_pg()), 5), (pgc(ns), 5)], al, keep=PG))

    lag = healthy_pg()
    lag['pgdb1'] = pg_primary([('pgdb2', 'sync', 104857600), ('pgdb3', 'async', 104857600)])
    al = [fires('9m', 'PghaPostgresSyncStandbyFlushLag',
                ({'instance': 'pgdb1:9732', 'application_name': 'pgdb2', 'client_addr': ADDR['pgdb2'], 'stage': 'flush'}, 104857600))]
    al += quiet('6m', 'PghaPostgresSyncStandbyFlushLag')
    tests.append(test('Both standbys are 100 MiB behind in flush from 5m: only the sync one (pgdb2) is reported.',
                      [(pgc(healthy_pg()), 5), (pgc(lag), 5)], al, keep=PG))

    rl = healthy_pg()
    rl['pgdb3'] = pg_standby(replay_lag=600)
    small = healthy_pg()
    small['pgdb2'] = pg_standby(replay_lag=120)
    al = [fires('12m', 'PghaPostgresReplayLag', ({'instance': 'pgdb3:9732'}, 600))]
    al += quiet('8m', 'PghaPostgresReplayLag')
    tests.append(test('pgdb3 replays 10 minutes behind from 5m, pgdb2 2 minutes (below the 5-minute threshold).',
                      [(pgc(healthy_pg()), 5), (pgc({**rl, 'pgdb2': small['pgdb2']}), 10)], al, keep=PG))

    wr = healthy_pg()
    wr['pgdb3'] = pg_standby(receiver_up=0)
    al = [fires('8m', 'PghaPostgresWalReceiverDown', ({'instance': 'pgdb3:9732'}, 0))]
    al += quiet('5m30s', 'PghaPostgresWalReceiverDown')
    tests.append(test('The standby pgdb3 has no walreceiver from 5m.', [(pgc(healthy_pg()), 5), (pgc(wr), 5)], al, keep=PG))

    ar = healthy_pg()
    ar['pgdb1'] = pg_primary([('pgdb2', 'sync', 0), ('pgdb3', 'async', 0)], archiver_failing=1, ready=40)
    al = [fires('20m', 'PghaPostgresArchivingFailing', ({'instance': 'pgdb1:9732'}, 1))]
    al += quiet('12m', 'PghaPostgresArchivingFailing')
    tests.append(test('archive_command fails on the primary from 5m.', [(pgc(healthy_pg()), 5), (pgc(ar), 20)], al, keep=PG))

    sl = healthy_pg()
    sl['pgdb1'] = pg_primary([('pgdb2', 'sync', 0)], slots={'postgresql_pgdb3': 10737418240, 'postgresql_pgdb2': 1073741824})
    al = [fires('20m', 'PghaPostgresSlotRetainingWal',
                ({'instance': 'pgdb1:9732', 'slot_name': 'postgresql_pgdb3', 'slot_type': 'physical'}, 10737418240))]
    al += quiet('12m', 'PghaPostgresSlotRetainingWal')
    tests.append(test('The slot of the dead standby pgdb3 retains 10 GiB, pgdb2\'s 1 GiB (below 8 GiB).',
                      [(pgc(healthy_pg()), 5), (pgc(sl), 20)], al, keep=PG))

    dn = healthy_pg()
    dn['pgdb3'] = {'role': 'down'}
    m = H()
    m['maint'] = 1
    al = [fires('8m', 'PghaPostgresDown', ({'instance': 'pgdb3:9732'}, 0))]
    al += quiet('5m30s', 'PghaPostgresDown')
    tests.append(test('PostgreSQL on pgdb3 is dead from 5m while Pacemaker, in maintenance-mode, still shows it Unpromoted there.',
                      [(pgc(healthy_pg()), 5), (pgc(dn, m), 5)], al, keep=PGD))
    d3 = healthy_pg()
    d3['pgdb1'] = pg_primary([('pgdb3', 'sync', 0)])
    d3['pgdb2'] = {'role': 'down'}
    al = quiet('10m', 'PghaPostgresDown')
    tests.append(test('pgdb2 is in standby (03 recording): its PostgreSQL is stopped on purpose, no PghaPostgresDown.',
                      [(pgc(healthy_pg()), 5), (pgc(d3, sync_node_standby_pcmk()), 10)], al, keep=PGD))
    gold = real_cluster(pg={'pgdb1': 'postgres/primary-sync-lost-pg15.prom', 'pgdb2': 'postgres/down.prom',
                            'pgdb3': 'postgres/standby-dead-link-pg15.prom'})
    al = [fires('8m', 'PghaPostgresWritesBlocked', ({'instance': 'pgdb1:9732'}, 1)),
          fires('15m', 'PghaPostgresWalReceiverDown', ({'instance': 'pgdb3:9732'}, 0)),
          fires('15m', 'PghaPostgresReplayLag', ({'instance': 'pgdb3:9732'}, 3934))]
    al += quiet('15m', 'PghaPostgresNoSyncStandby', 'PghaPostgresSplitBrain', 'PghaPostgresRoleMismatch',
                'PghaPostgresSyncStandbyFlushLag', 'PghaPostgresDown', 'PghaPostgresArchivingFailing')
    tests.append(test('The PostgreSQL goldens verbatim: primary-sync-lost-pg15 on pgdb1 (synchronous_standby_names still set, no sync walsender), down on pgdb2, standby-dead-link-pg15 on pgdb3 (no walreceiver, replay lag 3934 s).',
                      [(real_cluster(pg=PG_HEALTHY), 5), (gold, 15)], al, keep=PG))
    q13 = real_cluster(pg={'pgdb1': 'postgres/primary-pg13-quorum-slots-archive-failing.prom',
                           'pgdb2': 'postgres/standby-healthy-pg15.prom', 'pgdb3': 'postgres/standby-healthy-pg15.prom'})
    al = [fires('17m', 'PghaPostgresArchivingFailing', ({'instance': 'pgdb1:9732'}, 1)),
          fires('17m', 'PghaPostgresWritesBlocked', ({'instance': 'pgdb1:9732'}, 1))]
    al += quiet('17m', 'PghaPostgresNoSyncStandby', 'PghaPostgresSlotRetainingWal')
    tests.append(test('The primary-pg13-quorum-slots-archive-failing golden on pgdb1: archiving fails; ANY 2 quorum with one quorum standby blocks writes (1 of 2) but there is a sync standby; its 3.75 GiB slot is below the 8 GiB threshold.',
                      [(real_cluster(pg=PG_HEALTHY), 5), (q13, 15)], al, keep=PG))
    return tests


# =================================================================== corosync
def corosync_tests():
    tests = []
    iso = healthy_coro()
    iso['pgdb3'] = {'quorate': 0, 'members': ['pgdb3'], 'links': {('0', '1'): 0, ('0', '2'): 0, ('0', '3'): 1}}
    for n in ('pgdb1', 'pgdb2'):
        iso[n] = {'quorate': 1, 'members': ['pgdb1', 'pgdb2'], 'links': {('0', '1'): 1, ('0', '2'): 1, ('0', '3'): 0}}
    al = [fires('6m', 'PghaCorosyncQuorumLost', ({'instance': 'pgdb3:9732'}, 0))]
    al += quiet('5m15s', 'PghaCorosyncQuorumLost')
    al += quiet('6m', 'PghaCorosyncLinkDisconnected')
    tests.append(test('pgdb3 is cut off (single knet link): its partition is inquorate; the dead link to a node that left the membership is not a link alert.',
                      [(cluster(coro=healthy_coro()), 5), (cluster(coro=iso), 5)], al, keep=['pgha_corosync_']))

    rr = healthy_coro()
    for n in NODES:
        rr[n] = {'quorate': 1, 'members': list(NODES), 'links': {},
                 'rings': {('0', ADDR[n]): 0, ('1', '172.16.0.1' + NODE_ID[n]): 0}}
    bad = copy.deepcopy(rr)
    bad['pgdb1']['rings'][('0', ADDR['pgdb1'])] = 1
    al = [fires('8m', 'PghaCorosyncRingFaulty', ({'instance': 'pgdb1:9732', 'ring': '0', 'address': ADDR['pgdb1']}, 1))]
    al += quiet('5m30s', 'PghaCorosyncRingFaulty')
    tests.append(test('corosync 2 with two RRP rings: ring 0 of pgdb1 is marked FAULTY from 5m.',
                      [(cluster(coro=rr), 5), (cluster(coro=bad), 5)], al, keep=['pgha_corosync_']))

    two = {}
    for n in NODES:
        links = {}
        for l in ('0', '1'):
            for m in NODES:
                links[(l, NODE_ID[m])] = 1
        two[n] = {'quorate': 1, 'members': list(NODES), 'links': links,
                  'enabled': {(l, NODE_ID[m]): 1 for l in ('0', '1') for m in NODES}}
    # corosync 3.0.2-3.0.3: the local node shows enabled 0 on its second link.
    for n in NODES:
        two[n]['enabled'][('1', NODE_ID[n])] = 0
    down = copy.deepcopy(two)
    for n in ('pgdb1', 'pgdb2'):
        down[n]['links'][('1', '3')] = 0
    down['pgdb3']['links'][('1', '1')] = 0
    down['pgdb3']['links'][('1', '2')] = 0
    al = [fires('8m', 'PghaCorosyncLinkDisconnected', ({'link': '1', 'node_id': '1'}, 1),
                ({'link': '1', 'node_id': '2'}, 1), ({'link': '1', 'node_id': '3'}, 2))]
    al += quiet('5m30s', 'PghaCorosyncLinkDisconnected')
    al += quiet('8m', 'PghaCorosyncQuorumLost')
    tests.append(test('corosync 3 knet with two links: pgdb3\'s second NIC fails at 5m. pgdb1 and pgdb2 see link 1 to node 3 down, pgdb3 sees link 1 to nodes 1 and 2 down; everyone is still a member over link 0.',
                      [(cluster(coro=two), 5), (cluster(coro=down), 5)], al, keep=['pgha_corosync_']))
    dis = copy.deepcopy(two)
    dis['pgdb1']['links'][('1', '3')] = 0
    dis['pgdb1']['enabled'][('1', '3')] = 0
    al = quiet('8m', 'PghaCorosyncLinkDisconnected')
    tests.append(test('A link that corosync reports as not enabled (corosync 3.0.2-3.1.0) is ignored.',
                      [(cluster(coro=two), 10)] if False else [(cluster(coro=two), 5), (cluster(coro=dis), 5)], al, keep=['pgha_corosync_']))
    return tests


# =================================================================== recording
def recording_tests():
    tests = []
    major = node_offline(H(), 'pgdb3')
    iso = H()
    iso['quorate'] = 0
    part = cluster(pcmk=major, views={'pgdb3': iso})
    def smp(name, labels, v):
        lab = ','.join(f'{a}="{b}"' for a, b in sorted(labels.items()))
        return {'labels': f'{name}{{{lab}}}', 'value': v}
    T = 'instance:pgha_pacemaker_view_trusted:bool'
    pq = [{'expr': T, 'eval_time': '5m',
           'exp_samples': [smp(T, {'job': JOB, 'instance': inst(n)}, 1) for n in ('pgdb1', 'pgdb2')]},
          {'expr': 'cluster_node:pgha_pacemaker_node_online:min', 'eval_time': '5m',
           'exp_samples': [smp('cluster_node:pgha_pacemaker_node_online:min', {'job': JOB, 'node': n}, int(n != 'pgdb3')) for n in NODES]}]
    tests.append(test('Partition: only the quorate exporters (pgdb1, pgdb2) are believed; pgdb3 is offline in the cluster view.',
                      [(part, 6)], promql=pq, keep=VIEW))
    nq = H()
    nq['quorate'] = 0
    nodc = {'quorate': None, 'dc': 0, 'stonith': None, 'maint': None, 'nodes': {}, 'roles': [], 'failed': {},
            'failcount': {}, 'threshold': {}, 'scores': {}, 'pgsql': {}, 'clone': {}, 'constraints': []}
    pq = [{'expr': T, 'eval_time': '5m',
           'exp_samples': [smp(T, {'job': JOB, 'instance': inst(n)}, 1) for n in NODES]}]
    tests.append(test('No exporter has quorum (one without a DC): every exporter that serves a snapshot is believed.',
                      [(cluster(pcmk=nq, views={'pgdb3': nodc}), 6)], promql=pq, keep=VIEW))
    ex = lambda name, v, **l: {'expr': name, 'eval_time': '5m', 'exp_samples': [smp(name, dict(job=JOB, **l), v)]}
    pq = [ex('cluster_resource:pgha_pgsql_sync_standbys:sum', 1, resource='postgresql'),
          ex('cluster_resource:pgha_pgsql_failover_candidates:sum', 1, resource='postgresql'),
          ex('cluster:pgha_pacemaker_nodes_eligible:count', 3),
          ex('cluster_node:pgha_pgsql_primary:bool', 1, node='pgdb1'),
          ex('cluster:pgha_postgres_primaries:sum', 1),
          ex('cluster:pgha_pacemaker_quorate:max', 1),
          {'expr': 'cluster_clone:pgha_pacemaker_clone_instances:max{role="promoted"}', 'eval_time': '5m',
           'exp_samples': [smp('cluster_clone:pgha_pacemaker_clone_instances:max', {'job': JOB, 'clone': 'mspostgresql', 'role': 'promoted'}, 1)]}]
    tests.append(test('The healthy recording, aggregated: one sync standby, one failover candidate, three usable nodes, pgdb1 primary.',
                      [(healthy(), 6)], promql=pq, keep=VIEW))
    pq = [ex('cluster_resource:pgha_pgsql_sync_standbys:sum', 1, resource='postgresql'),
          ex('cluster_resource:pgha_pgsql_failover_candidates:sum', 1, resource='postgresql'),
          ex('cluster_node:pgha_pgsql_primary:bool', 1, node='pgdb3')]
    tests.append(test('The 05 failover recording: pgdb3 primary, pgdb2 the sync standby and the candidate.',
                      [(cluster(pcmk=failover_pcmk()), 6)], promql=pq, keep=VIEW))
    o = H()
    o = node_offline(o, 'pgdb2')
    o = node_offline(o, 'pgdb3')
    pq = [ex('cluster_resource:pgha_pgsql_failover_candidates:sum', 0, resource='postgresql'),
          ex('cluster_resource:pgha_pgsql_sync_standbys:sum', 0, resource='postgresql')]
    tests.append(test('Only the primary left: 0 candidates and 0 sync standbys (not absent).',
                      [(cluster(pcmk=o), 6)], promql=pq, keep=VIEW))
    return tests


# =================================================================== on-call
CRITICAL = sorted(a for a, r in ALERTS.items() if r['labels']['severity'] == 'critical')


def no_page(t, *but):
    """No critical alert (nothing pages) at eval time t, except `but`."""
    return quiet(t, *[a for a in CRITICAL if a not in but])


def oncall_tests():
    """What the on-call engineer receives, from the real exporter's scrapes
    (alerts/testdata/exporter) and the PostgreSQL goldens: a page within 90 s
    of losing a node at minimum quorum, losing the primary or losing the
    monitoring; no page for planned actions; nothing but the stonith warning
    on a healthy cluster."""
    tests = []
    H2 = real_healthy()

    # The sync standby loses power (scenario 8).
    lost = scrapes({'pgdb1': scrape('sync-standby-node-lost', 'pgdb1', pg='postgres/primary-idle-after-sync-move-pg15.prom', lost=['pgdb2']),
                    'pgdb2': None,
                    'pgdb3': scrape('sync-standby-node-lost', 'pgdb3', pg=STANDBY, lost=['pgdb2'])})
    al = [fires('6m30s', 'PghaNodeLostAtMinimumQuorum', ({}, 0)),
          fires('8m', 'PghaNodeOffline', ({'node': 'pgdb2'}, 0)),
          fires('8m', 'PghaExporterDown', ({'instance': 'pgdb2:9732', 'node': 'pgdb2'}, 0))]
    al += quiet('5m', 'PghaNodeLostAtMinimumQuorum')
    al += no_page('8m', 'PghaNodeLostAtMinimumQuorum') + quiet('8m', 'PghaCollectorFailed')
    tests.append(test('The sync standby pgdb2 loses power at 5m (scenario 8; the sync-standby-node-lost fixture: pgdb3 became HS:sync): the two survivors are at minimum quorum, a page within 90 s; PghaNodeOffline and PghaExporterDown name the node (node label: Alertmanager inhibits the second under the first).',
                      [(H2, 5), (lost, 5)], al))

    # The primary loses power, pgdb2 is promoted (scenario 3).
    fo = scrapes({'pgdb1': None,
                  'pgdb2': scrape('primary-node-lost-failover', 'pgdb2', pg='postgres/primary-idle-after-sync-move-pg15.prom', lost=['pgdb1']),
                  'pgdb3': scrape('primary-node-lost-failover', 'pgdb3', pg=STANDBY, lost=['pgdb1'])})
    al = [fires('6m30s', 'PghaNodeLostAtMinimumQuorum', ({}, 0)),
          fires('8m', 'PghaNodeOffline', ({'node': 'pgdb1'}, 0))]
    al += no_page('8m', 'PghaNodeLostAtMinimumQuorum')
    tests.append(test('The primary pgdb1 loses power at 5m and pgdb2 is promoted (scenario 3; the primary-node-lost-failover fixture): a primary exists, but the cluster is at minimum quorum: that is the page, nothing else is critical.',
                      [(H2, 5), (fo, 5)], al))

    # Planned: the async standby put in standby (its PostgreSQL stopped by Pacemaker: the real scrape).
    sb = scrapes({'pgdb1': scrape('node-standby', 'pgdb1', pg=PRIMARY, drop_standbys=('pgdb3',)),
                  'pgdb2': scrape('node-standby', 'pgdb2', pg=STANDBY),
                  'pgdb3': scrape('node-standby', 'pgdb3')})
    al = [fires('40m', 'PghaNodeStandby', ({'node': 'pgdb3'}, 1))]
    for t in ('6m30s', '10m', '40m'):
        al += no_page(t) + quiet(t, 'PghaCollectorFailed', 'PghaPostgresDown', 'PghaExporterDown', 'PghaNodeOffline')
    tests.append(test('Planned: pgdb3 is put in standby at 5m (the node-standby fixture; pgdb3\'s exporter really scrapes pgha_postgres_up 0 with its collector failing, because Pacemaker stopped PostgreSQL there): nobody is paged, no PghaCollectorFailed; PghaNodeStandby after 30 minutes.',
                      [(H2, 5), (sb, 40)], al))

    # Planned: maintenance-mode.
    mm = scrapes({'pgdb1': scrape('maintenance-mode', 'pgdb1', pg=PRIMARY),
                  'pgdb2': scrape('maintenance-mode', 'pgdb2', pg=STANDBY),
                  'pgdb3': scrape('maintenance-mode', 'pgdb3', pg=STANDBY)})
    al = [fires('25m', 'PghaClusterMaintenanceMode', ({}, 1))]
    for t in ('6m30s', '25m'):
        al += no_page(t) + quiet(t, 'PghaCollectorFailed', 'PghaPostgresDown')
    tests.append(test('Planned: maintenance-mode=true from 5m (the maintenance-mode fixture): nobody is paged; the warning after 15 minutes.',
                      [(H2, 5), (mm, 25)], al))

    # Both standbys lose power: the survivor has no quorum and stops PostgreSQL (scenario 13).
    nq = scrapes({'pgdb1': None, 'pgdb2': None,
                  'pgdb3': scrape('no-quorum', 'pgdb3', lost=['pgdb1', 'pgdb2'], quorate=0)})
    al = [fires('6m30s', 'PghaPacemakerNoQuorum', ({}, 0))]
    al += quiet('10m', 'PghaCollectorFailed', 'PghaPostgresDown', 'PghaCorosyncQuorumLost', 'PghaNodeLostAtMinimumQuorum')
    tests.append(test('pgdb1 and pgdb2 lose power at 5m (the no-quorum fixture: pgdb3 alone, PostgreSQL stopped by no-quorum-policy=stop, as its exporter really scrapes it): PghaPacemakerNoQuorum pages within 90 s; the survivor\'s stopped PostgreSQL is no collector failure.',
                      [(H2, 5), (nq, 5)], al))

    # Total outage: the cluster stack stopped on every node, PostgreSQL down everywhere.
    stopped = scrapes({n: scrape('stack-stopped', 'pgdb1') for n in NODES})
    al = [fires('6m30s', 'PghaPostgresNoPrimary', ({}, 0)),
          fires('6m30s', 'PghaClusterUnmonitored', ({}, 0))]
    al += quiet('10m', 'PghaCollectorFailed', 'PghaExporterDown', 'PghaPostgresDown')
    tests.append(test('Pacemaker and corosync stop on every node at 5m and PostgreSQL with them (the recorded crm_mon and corosync "not running" answers: every collector fails, as the real exporter scrapes it): PghaPostgresNoPrimary (from PostgreSQL\'s own view) and PghaClusterUnmonitored page, once each; no per-exporter warnings. (The live exporter fails its Pacemaker collector only once the last snapshot is older than --crm.max-age, 30 s.)',
                      [(H2, 5), (stopped, 5)], al))

    # Every exporter down.
    down = scrapes({n: None for n in NODES})
    al = [fires('6m30s', 'PghaClusterUnmonitored', ({}, 0))]
    al += quiet('10m', 'PghaExporterDown', 'PghaPostgresNoPrimary', 'PghaNodeLostAtMinimumQuorum')
    tests.append(test('All three exporters stop answering at 5m: one PghaClusterUnmonitored page, not three PghaExporterDown warnings.',
                      [(H2, 5), (down, 10)], al))

    # Targets vanish from service discovery.
    al = [fires('11m', 'PghaExporterTargetsMissing', ({'job': ''}, 1))]
    al += quiet('9m', 'PghaExporterTargetsMissing') + quiet('11m', 'PghaClusterUnmonitored', 'PghaExporterDown')
    tests.append(test('Service discovery drops every pgha target at 5m (their series end): absent() fires after 5 minutes; nothing else could.',
                      [(H2, 5), ({}, 10)], al))
    other = scrapes({'pgdb1': scrape('healthy', 'pgdb1', pg=PRIMARY), 'pgdb2': scrape('healthy', 'pgdb2', pg=STANDBY),
                     'pgdb3': scrape('healthy', 'pgdb3', pg=STANDBY)}, job='pgha-b')
    al = [fires('11m', 'PghaExporterTargetsMissing', ({'job': 'pgha-b'}, 1))]
    al += quiet('9m', 'PghaExporterTargetsMissing')
    tests.append(test('Two clusters in two jobs (pgha, pgha-b); the targets of pgha-b vanish at 5m: PghaExporterTargetsMissing for pgha-b while pgha is still scraped.',
                      [({**H2, **other}, 5), (H2, 10)], al))

    # A failover's seconds without a primary are no page.
    f05 = real_cluster(pcmk=live('05-primary-postgres-killed-failover'), coro=COROSYNC_HEALTHY,
                       pg={'pgdb1': 'postgres/down.prom', 'pgdb2': STANDBY,
                           'pgdb3': 'postgres/primary-after-failover-pg15-pacemaker-agrees.prom'})
    gap = real_cluster(pcmk=live('01-healthy'), coro=COROSYNC_HEALTHY,
                       pg={'pgdb1': 'postgres/down.prom', 'pgdb2': STANDBY, 'pgdb3': STANDBY})
    al = quiet('5m30s', 'PghaPostgresNoPrimary') + quiet('6m', 'PghaPostgresNoPrimary') + quiet('8m', 'PghaPostgresNoPrimary')
    tests.append(test('The primary\'s PostgreSQL is killed at 5m (scenario 2): 30 s without any primary, then the 05 recording (pgdb3 promoted): no PghaPostgresNoPrimary.',
                      [(real_cluster(pcmk=live('01-healthy'), coro=COROSYNC_HEALTHY, pg=PG_HEALTHY), 5), (gap, 0.5), (f05, 5)], al))

    # Two clusters in one job.
    cman = load_prom('corosync/cman_cman_tool-status_plus-nodes-F_rhel6.6_quorate.prom')
    pg13 = load_prom('postgres/primary-pg13-quorum-slots-archive-failing.prom')
    # The golden's server was initialised for the project's tests with the
    # lab's identifier; another cluster's server has its own.
    for k in [k for k in pg13 if k[0] == 'pgha_postgres_info']:
        d = dict(k[1])
        d['system_identifier'] = '7302554158362861234'
        pg13[K('pgha_postgres_info', **d)] = pg13.pop(k)
    alien = {BUILD_INFO: 1, **cman, **pg13,
             K('pgha_scrape_collector_success', collector='corosync'): 1,
             K('pgha_scrape_collector_success', collector='postgres'): 1}
    mixed = {**H2, **scrapes({'other': alien}, instances={'other': 'rh66-node1:9732'})}
    al = [fires('11m', 'PghaClusterIdentityConflict', ({}, 2))]
    al += quiet('9m', 'PghaClusterIdentityConflict') + quiet('11m', 'PghaPostgresSplitBrain')
    tests.append(test('An exporter of another cluster (the CMAN golden: cluster66, and a PostgreSQL 13 primary of another replication set) is scraped into job pgha from 5m, without a cluster label: PghaClusterIdentityConflict (2 names, 2 system identifiers); its primary, of another replication set, is no split brain.',
                      [(H2, 5), (mixed, 10)], al))
    return tests


def healthy_2h_tests():
    """Two hours of a healthy cluster, scraped and evaluated every minute
    (a quarter of the evaluations of the 15 s files; nothing changes)."""
    al = []
    for t in ('30m', '60m', '120m'):
        al += quiet(t, *[a for a in ALL if a != 'PghaStonithDisabled'])
    al.append(fires('120m', 'PghaStonithDisabled', ({}, None)))
    return [test('A healthy cluster (the healthy fixture as the three exporters scrape it, PostgreSQL primary on pgdb1, standbys on pgdb2 and pgdb3) for 2 hours: nothing fires but the stonith warning (fencing is disabled).',
                 [(real_healthy(), 125)], al, step=60)]


HEADER = """# promtool test rules for alerts/*.rules.yml (run: promtool test rules alerts/tests/*.yml).
# Generated by alerts/tests/gen/gen_tests.py: do not edit, regenerate.
# Input series are shaped as Prometheus scrapes them from the three exporters
# (job "pgha", instances pgdb1:9732, pgdb2:9732, pgdb3:9732): the real
# exporter's scrapes (alerts/testdata/exporter), the collector goldens
# (collector/testdata: the live-pcmk-2.1.5-pgsql-4.12-pg15 recordings, real
# PostgreSQL servers) and states built after them; alerts/inputs_test.go
# checks every series against the exporter's expositions. A dead exporter is
# a target whose series go stale, as after a failed scrape.
# Scenario numbers refer to docs/failover-scenarios.md.
"""
write(f'{OUT}/healthy.yml', HEADER + '# Healthy clusters: nothing may fire.\n', healthy_tests())
write(f'{OUT}/exporter.yml', HEADER + '# The exporter and its collectors.\n', exporter_tests())
write(f'{OUT}/pacemaker.yml', HEADER + '# Pacemaker: quorum, DC, nodes, resources, fail counts, constraints.\n', pacemaker_tests())
write(f'{OUT}/pgsql.yml', HEADER + '# The pgsql resource agent\'s attributes.\n', pgsql_tests())
write(f'{OUT}/postgres.yml', HEADER + '# PostgreSQL, per node.\n', postgres_tests())
write(f'{OUT}/corosync.yml', HEADER + '# corosync.\n', corosync_tests())
write(f'{OUT}/healthy-2h.yml', HEADER + '# A healthy cluster for 2 hours, one scrape and evaluation a minute.\n', healthy_2h_tests(), step=60)
write(f'{OUT}/oncall.yml', HEADER + '# What the on-call engineer receives, from the real exporter\'s scrapes.\n', oncall_tests())
write(f'{OUT}/recording.yml', HEADER + '# The recording rules\' cluster view.\n', recording_tests())
