"""Helpers that build promtool rule-test YAML for pgha_exporter alerts."""
import copy, glob, math, os, re
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..'))
JOB = 'pgha'
NODES = ['pgdb1', 'pgdb2', 'pgdb3']
NODE_ID = {'pgdb1': '1', 'pgdb2': '2', 'pgdb3': '3'}
ADDR = {'pgdb1': '10.77.0.11', 'pgdb2': '10.77.0.12', 'pgdb3': '10.77.0.13'}
INF = float('inf')
STEP_S = 15


def inst(n):
    return f'{n}:9732'


def K(__n, **labels):
    return (__n, tuple(sorted(labels.items())))


# pgha_exporter_build_info as alerts/testdata/exporter keeps it (labels blanked).
BUILD_INFO = K('pgha_exporter_build_info', branch='', goarch='', goos='', goversion='', revision='', tags='', version='')


def load_alerts():
    alerts = {}
    for f in sorted(glob.glob(os.path.join(ROOT, 'alerts', '*.yml'))):
        doc = yaml.safe_load(open(f))
        for g in doc['groups']:
            for r in g['rules']:
                if 'alert' in r:
                    alerts[r['alert']] = r
    return alerts


ALERTS = load_alerts()

# ---------------------------------------------------------------- states


def healthy_pcmk():
    """01-healthy (live-pcmk-2.1.5-pgsql-4.12-pg15), with stonith enabled."""
    return {
        'quorate': 1, 'dc': 1, 'stonith': 1, 'maint': 0,
        'nodes': {n: {'online': 1, 'standby': 0, 'maintenance': 0, 'unclean': 0} for n in NODES},
        'roles': [('postgresql', 'pgdb1', 'promoted'), ('vip-master', 'pgdb1', 'started'),
                  ('vip-rep', 'pgdb1', 'started'), ('postgresql', 'pgdb2', 'unpromoted'),
                  ('postgresql', 'pgdb3', 'unpromoted')],
        'failed': {},
        'failcount': {('postgresql', 'pgdb1'): 0, ('vip-master', 'pgdb1'): 0, ('vip-rep', 'pgdb1'): 0,
                      ('postgresql', 'pgdb2'): 0, ('postgresql', 'pgdb3'): 0},
        'threshold': {('postgresql', 'pgdb1'): 1, ('vip-master', 'pgdb1'): 1, ('vip-rep', 'pgdb1'): 0,
                      ('postgresql', 'pgdb2'): 1, ('postgresql', 'pgdb3'): 1},
        'scores': {'pgdb1': 1000, 'pgdb2': 100, 'pgdb3': -INF},
        'pgsql': {'pgdb1': ('PRI', 'LATEST', 1), 'pgdb2': ('HS:sync', 'STREAMING|SYNC', 1),
                  'pgdb3': ('HS:async', 'STREAMING|ASYNC', 1)},
        'clone': {'promoted': 1, 'unpromoted': 2, 'started': 0, 'stopped': 0},
        'constraints': [],
    }


def sync_node_standby_pcmk():
    """03-sync-standby-node-standby: pgdb2 in standby, pgdb3 became HS:sync."""
    s = healthy_pcmk()
    s['nodes']['pgdb2']['standby'] = 1
    s['roles'] = [r for r in s['roles'] if r[1] != 'pgdb2']
    del s['failcount'][('postgresql', 'pgdb2')]
    del s['threshold'][('postgresql', 'pgdb2')]
    s['scores'] = {'pgdb1': 1000, 'pgdb2': -INF, 'pgdb3': 100}
    s['pgsql'] = {'pgdb1': ('PRI', 'LATEST', 1), 'pgdb2': ('STOP', 'DISCONNECT', None),
                  'pgdb3': ('HS:sync', 'STREAMING|SYNC', 1)}
    s['clone'] = {'promoted': 1, 'unpromoted': 1, 'started': 0, 'stopped': 1}
    return s


def failover_pcmk():
    """05-primary-postgres-killed-failover: pgdb1's postgres killed, pgdb3 promoted."""
    s = healthy_pcmk()
    s['roles'] = [('postgresql', 'pgdb3', 'promoted'), ('vip-master', 'pgdb3', 'started'),
                  ('vip-rep', 'pgdb3', 'started'), ('postgresql', 'pgdb2', 'unpromoted')]
    s['failcount'] = {('postgresql', 'pgdb1'): 1, ('vip-master', 'pgdb1'): 0, ('vip-rep', 'pgdb1'): 0,
                      ('postgresql', 'pgdb2'): 0, ('postgresql', 'pgdb3'): 0,
                      ('vip-master', 'pgdb3'): 0, ('vip-rep', 'pgdb3'): 0}
    s['threshold'] = {('postgresql', 'pgdb1'): 1, ('vip-master', 'pgdb1'): 1, ('vip-rep', 'pgdb1'): 0,
                      ('postgresql', 'pgdb2'): 1, ('postgresql', 'pgdb3'): 1,
                      ('vip-master', 'pgdb3'): 1, ('vip-rep', 'pgdb3'): 0}
    s['scores'] = {'pgdb1': -INF, 'pgdb2': 100, 'pgdb3': 1000}
    s['pgsql'] = {'pgdb1': ('STOP', 'DISCONNECT', 0), 'pgdb2': ('HS:sync', 'STREAMING|SYNC', 1),
                  'pgdb3': ('PRI', 'LATEST', 1)}
    s['clone'] = {'promoted': 1, 'unpromoted': 1, 'started': 0, 'stopped': 1}
    return s


def start_failed_pcmk():
    """06-old-primary-start-failed-pgsql-lock: start failed on pgdb1, fail count INFINITY."""
    s = failover_pcmk()
    s['failcount'][('postgresql', 'pgdb1')] = INF
    return s


STATUSES = ['PRI', 'HS:sync', 'HS:async', 'HS:potential', 'HS:connected', 'HS:alone', 'STOP', 'UNKNOWN']
DATA_STATUSES = ['LATEST', 'STREAMING|SYNC', 'STREAMING|ASYNC', 'STREAMING|POTENTIAL', 'DISCONNECT']
RESOURCE_INFO = [
    {'resource': 'vip-master', 'agent': 'ocf:heartbeat:IPaddr2', 'group': 'master-group', 'clone': '', 'bundle': ''},
    {'resource': 'vip-rep', 'agent': 'ocf:heartbeat:IPaddr2', 'group': 'master-group', 'clone': '', 'bundle': ''},
    {'resource': 'postgresql', 'agent': 'ocf:heartbeat:pgsql', 'group': '', 'clone': 'mspostgresql', 'bundle': ''},
]


def pcmk_series(s):
    """The cluster-wide Pacemaker series of one exporter (no job/instance yet)."""
    out = {}
    if s.get('quorate') is not None:
        out[K('pgha_pacemaker_quorate')] = s['quorate']
    out[K('pgha_pacemaker_dc_present')] = s['dc']
    if s.get('stonith') is not None:
        out[K('pgha_pacemaker_stonith_enabled')] = s['stonith']
    if s.get('maint') is not None:
        out[K('pgha_pacemaker_maintenance_mode')] = s['maint']
    for n, st in s['nodes'].items():
        out[K('pgha_pacemaker_node_info', node=n, id=NODE_ID[n], type='member')] = 1
        for f in ('online', 'standby', 'maintenance', 'unclean'):
            out[K('pgha_pacemaker_node_' + f, node=n)] = st[f]
    for ri in RESOURCE_INFO:
        out[K('pgha_pacemaker_resource_info', **ri)] = 1
    out[K('pgha_pacemaker_clone_info', clone='mspostgresql', promotable='true', unique='false')] = 1
    for role, v in s['clone'].items():
        out[K('pgha_pacemaker_clone_instances', clone='mspostgresql', role=role)] = v
    for res, node, role in s['roles']:
        out[K('pgha_pacemaker_resource_role', resource=res, node=node, role=role)] = 1
        out[K('pgha_pacemaker_resource_failed', resource=res, node=node)] = s['failed'].get((res, node), 0)
    for (res, node), v in s['failed'].items():
        out[K('pgha_pacemaker_resource_failed', resource=res, node=node)] = v
    for (res, node), v in s['failcount'].items():
        out[K('pgha_pacemaker_failcount', resource=res, node=node)] = v
    for (res, node), v in s['threshold'].items():
        out[K('pgha_pacemaker_migration_threshold', resource=res, node=node)] = v
    for node, v in s['scores'].items():
        out[K('pgha_pacemaker_promotion_score', resource='postgresql', node=node)] = v
    for node, (st, ds, rcv) in s['pgsql'].items():
        if st is not None:
            for x in STATUSES:
                out[K('pgha_pgsql_status', resource='postgresql', node=node, status=x)] = int(x == st)
        if ds is not None:
            for x in DATA_STATUSES:
                out[K('pgha_pgsql_data_status', resource='postgresql', node=node, data_status=x)] = int(x == ds)
        if rcv is not None:
            out[K('pgha_pgsql_receiver_ok', resource='postgresql', node=node)] = rcv
    # pgha_pacemaker_primary: promoted, not failed, on an online clean node
    # (crm.Status.Primaries).
    for res, node, role in s['roles']:
        st = s['nodes'].get(node, {})
        if (res == 'postgresql' and role == 'promoted' and not s['failed'].get((res, node))
                and st.get('online') == 1 and st.get('unclean') == 0):
            out[K('pgha_pacemaker_primary', clone='mspostgresql', node=node)] = 1
    for (target, action, status), v in s.get('fence', {}).items():
        out[K('pgha_pacemaker_fence_events', target=target, action=action, status=status)] = v
    for cid, res, node, role, v in s['constraints']:
        out[K('pgha_pacemaker_location_constraint', id=cid, resource=res, node=node, role=role)] = v
    return out


# PostgreSQL, per node.
def pg_primary(standbys, **over):
    """standbys: list of (node, sync_state, flush_lag_bytes)."""
    d = {'role': 'primary', 'standbys': standbys}
    d.update(over)
    return d


def pg_standby(**over):
    d = {'role': 'standby'}
    d.update(over)
    return d


def healthy_pg():
    return {'pgdb1': pg_primary([('pgdb2', 'sync', 0), ('pgdb3', 'async', 0)]),
            'pgdb2': pg_standby(), 'pgdb3': pg_standby()}


# The lab's PostgreSQL 15 (collector/testdata/postgres/*-pg15.prom): one
# replication set, one system identifier.
PG15_INFO = {'server_version_num': '150018', 'system_identifier': '7441920011146264370',
             'version': '15.18 (Debian 15.18-0+deb12u1)'}


def pg_series(d):
    out = {}
    if d is None:
        return out
    role = d['role']
    if role == 'down':
        out[K('pgha_postgres_up')] = 0
        return out
    out[K('pgha_postgres_up')] = 1
    out[K('pgha_postgres_info', **PG15_INFO)] = 1
    out[K('pgha_postgres_in_recovery')] = 1 if role == 'standby' else 0
    out[K('pgha_local_role_mismatch')] = d.get('mismatch', 0)
    out[K('pgha_postgres_archiver_failing')] = d.get('archiver_failing', 0)
    out[K('pgha_postgres_archiver_ready_files')] = d.get('ready', 0)
    for slot, v in d.get('slots', {}).items():
        out[K('pgha_postgres_slot_retained_bytes', slot_name=slot, slot_type='physical')] = v
    if role == 'primary':
        sb = d['standbys']
        nsync = sum(1 for _, ss, _ in sb if ss in ('sync', 'quorum'))
        out[K('pgha_postgres_sync_standbys')] = d.get('sync_standbys', nsync)
        out[K('pgha_postgres_sync_standbys_required')] = d.get('required', 1)
        out[K('pgha_postgres_synchronous_standby_names_set')] = d.get('names_set', 1 if nsync else 0)
        out[K('pgha_postgres_writes_blocked_risk')] = d.get('writes_blocked', 0)
        out[K('pgha_postgres_commits_protected')] = 1 if nsync else 0
        for node, ss, flush in sb:
            lab = dict(application_name=node, client_addr=ADDR[node])
            for x in ('sync', 'async', 'potential', 'quorum'):
                out[K('pgha_postgres_replication_sync_state', sync_state=x, **lab)] = int(x == ss)
            for stage in ('sent', 'write', 'flush', 'replay'):
                out[K('pgha_postgres_replication_lag_bytes', stage=stage, **lab)] = 0 if stage in ('sent', 'write') else flush
    else:
        out[K('pgha_postgres_wal_receiver_up')] = d.get('receiver_up', 1)
        out[K('pgha_postgres_replay_lag_seconds')] = d.get('replay_lag', 0)
        out[K('pgha_postgres_replay_lag_bytes')] = 0
    return out


def healthy_coro():
    return {n: {'quorate': 1, 'members': list(NODES), 'links': {('0', NODE_ID[m]): 1 for m in NODES}}
            for n in NODES}


def coro_series(d):
    out = {}
    if d is None:
        return out
    out[K('pgha_corosync_quorate')] = d['quorate']
    out[K('pgha_corosync_members')] = len(d['members'])
    # votequorum of a 3-node cluster, one vote each (the lab's quorumtool).
    for t, v in (('expected', 3), ('highest_expected', 3), ('total', len(d['members'])), ('quorum', 2)):
        out[K('pgha_corosync_votes', type=t)] = v
    for m in d['members']:
        out[K('pgha_corosync_member_info', node_id=NODE_ID[m], name=m)] = 1
    for (link, nid), v in d.get('links', {}).items():
        out[K('pgha_corosync_link_connected', link=link, node_id=nid)] = v
    for (link, nid), v in d.get('enabled', {}).items():
        out[K('pgha_corosync_link_enabled', link=link, node_id=nid)] = v
    for (ring, addr), v in d.get('rings', {}).items():
        out[K('pgha_corosync_ring_faulty', ring=ring, address=addr)] = v
    return out


def cluster(pcmk=None, views=None, pg=None, coro=None, alive=NODES, collectors=None, ages=None, extra=None,
            up=True):
    """One snapshot of everything Prometheus scrapes from the three exporters.

    pcmk: the Pacemaker view all alive exporters share; views: per-node
    override {node: state}; pg/coro: per node; alive: exporters that answer
    scrapes (the others have up 0 and no series).
    """
    snap = {}
    for n in NODES:
        base = {'job': JOB, 'instance': inst(n)}
        if up:
            snap[('up', tuple(sorted(base.items())))] = 1 if n in alive else 0
        if n not in alive:
            continue
        ser = {BUILD_INFO: 1}
        # Collector success as the exporter reports it: a collector whose
        # state the test does not give is disabled (no series); PostgreSQL
        # down is pgha_postgres_up 0 with success 0.
        cols = {}
        view = (views or {}).get(n, pcmk)
        if view is not None:
            ser.update(pcmk_series(view))
            ser[K('pgha_pacemaker_local_node_info', node=n)] = 1
            cols['pacemaker'] = 1
        if pg is not None and pg.get(n) is not None:
            ser.update(pg_series(pg.get(n)))
            cols['postgres'] = 0 if pg[n]['role'] == 'down' else 1
        if coro is not None and coro.get(n) is not None:
            ser.update(coro_series(coro.get(n)))
            cols['corosync'] = 1
        cols.update((collectors or {}).get(n, {}))
        for c, v in cols.items():
            ser[K('pgha_scrape_collector_success', collector=c)] = v
        a = {'pacemaker': 5, 'corosync': 5}
        a.update((ages or {}).get(n, {}))
        if 'pacemaker' in cols:
            ser[K('pgha_pacemaker_snapshot_age_seconds')] = a['pacemaker']
        if 'corosync' in cols:
            ser[K('pgha_corosync_snapshot_age_seconds')] = a['corosync']
        for k, v in (extra or {}).get(n, {}).items():
            ser[k] = v
        for (name, labels), v in ser.items():
            d = dict(labels)
            d.update(base)
            snap[(name, tuple(sorted(d.items())))] = v
    return snap


def healthy():
    return cluster(pcmk=healthy_pcmk(), pg=healthy_pg(), coro=healthy_coro())


# ---------------------------------------------------------------- rendering

def fmt(v):
    if v == INF:
        return '+Inf'
    if v == -INF:
        return '-Inf'
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def series_values(tokens):
    out = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j] == tokens[i]:
            j += 1
        k = j - i
        t = tokens[i]
        if t == '_':
            out.append('_' if k == 1 else f'_x{k}')
        elif t == 'stale':
            out.extend(['stale'] * k)
        else:
            s = fmt(t)
            if k == 1:
                out.append(s)
            elif math.isinf(t):
                out.append(f'{s}+0x{k - 1}')
            else:
                out.append(f'{s}x{k - 1}')
        i = j
    return ' '.join(out)


def timeline(phases, step=STEP_S):
    """phases: list of (snapshot, minutes). Returns promtool input_series."""
    keys = []
    seen = set()
    for snap, _ in phases:
        for k in snap:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    steps = []
    for snap, minutes in phases:
        steps.extend([snap] * int(minutes * 60 / step))
    res = []
    for k in sorted(keys, key=lambda k: (k[0], k[1])):
        toks = []
        prev_present = False
        for snap in steps:
            if k in snap:
                toks.append(float(snap[k]))
                prev_present = True
            else:
                toks.append('stale' if prev_present else '_')
                prev_present = False
        while toks and toks[-1] == '_':
            toks.pop()
        name, labels = k
        lab = ','.join(f'{a}="{b}"' for a, b in labels)
        res.append({'series': f'{name}{{{lab}}}', 'values': series_values(toks)})
    return res


def humanize1024(v):
    if abs(v) <= 1 or math.isinf(v) or math.isnan(v):
        return go_g(v, 4)
    prefixes = ['', 'ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi']
    p = 0
    while abs(v) >= 1024 and p < len(prefixes) - 1:
        v /= 1024
        p += 1
    return go_g(v, 4) + prefixes[p]


def go_g(v, prec=None):
    if math.isinf(v):
        return '+Inf' if v > 0 else '-Inf'
    if prec is None:
        if float(v).is_integer() and abs(v) < 1e21:
            return str(int(v)) if abs(v) < 1e21 else repr(v)
        return repr(v)
    s = f'{v:.{prec}g}'
    return s


def humanize_duration(v):
    if abs(v) >= 1:
        i = int(v)
        s, m, h, d = i % 60, (i // 60) % 60, (i // 3600) % 24, i // 86400
        if d:
            return f'{d}d {h}h {m}m {s}s'
        if h:
            return f'{h}h {m}m {s}s'
        if m:
            return f'{m}m {s}s'
        return go_g(v, 4) + 's'
    raise ValueError(v)


def go_value(v):
    """{{ $value }}: Go's %v of a float64."""
    if math.isinf(v):
        return '+Inf' if v > 0 else '-Inf'
    if float(v).is_integer() and abs(v) < 1e21:
        s = f'{v:g}'
        if 'e' in s:
            m, e = s.split('e')
            return f'{m}e{e[0]}{e[1:].zfill(2)}'
        return s
    return repr(v)


def render(tmpl, labels, value):
    def with_(m):
        return m.group(2) if labels.get(m.group(1)) else ''
    tmpl = re.sub(r'\{\{ with \$labels\.(\w+) \}\}(.*?)\{\{ end \}\}', with_, tmpl)

    def sub(m):
        expr = m.group(1).strip()
        if expr == 'or $labels.cluster $labels.job':
            return labels.get('cluster') or labels.get('job', '')
        mm = re.fullmatch(r'\$labels\.(\w+)', expr)
        if mm:
            return labels.get(mm.group(1), '')
        if expr == '$value':
            return go_value(value)
        if expr == '$value | humanize1024':
            return humanize1024(value)
        if expr == '$value | humanizeDuration':
            return humanize_duration(value)
        raise ValueError(expr)
    return re.sub(r'\{\{(.*?)\}\}', sub, tmpl)


def exp_alert(alertname, labels, value=None):
    r = ALERTS[alertname]
    lab = {k: v for k, v in labels.items() if v != ''}
    if 'job' not in labels:
        lab['job'] = JOB
    lab.update(r.get('labels', {}))
    ann = {k: render(v, lab, value) for k, v in r['annotations'].items()}
    return {'exp_labels': lab, 'exp_annotations': ann}


# Alerts about one exporter's host: they join `node` from the exporter's
# pgha_pacemaker_local_node_info (instance:pgha_node:info).
PER_HOST = {a for a, r in ALERTS.items() if 'instance:pgha_node:info' in r['expr']}


def fires(eval_time, alertname, *alerts):
    """alerts: (labels, value) pairs. The expected alerts are built by
    finish(), which adds the `node` of per-host alerts."""
    return {'eval_time': eval_time, 'alertname': alertname, '_raw': list(alerts)}


def finish(alerts, nodes):
    """nodes: instance -> the node its exporter reported (if it did)."""
    out = []
    for a in alerts:
        a = dict(a)
        raw = a.pop('_raw', None)
        if raw is not None:
            exp = []
            for labels, value in raw:
                labels = dict(labels)
                if a['alertname'] in PER_HOST and labels.get('instance') in nodes:
                    labels.setdefault('node', nodes[labels['instance']])
                exp.append(exp_alert(a['alertname'], labels, value))
            a['exp_alerts'] = exp
        out.append(a)
    return out


def quiet(eval_time, *alertnames):
    return [{'eval_time': eval_time, 'alertname': a, 'exp_alerts': []} for a in alertnames]


class Str(str):
    pass


def _str_rep(dumper, data):
    return dumper.represent_scalar('tag:yaml.org,2002:str', data, style="'")


class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(Str, _str_rep)


def write(path, header, tests, step=STEP_S):
    """step: the scrape and rule evaluation interval of the file, in seconds."""
    doc = {'rule_files': ['../*.yml'], 'evaluation_interval': f'{step}s', 'tests': []}
    for t in tests:
        tt = {'name': t['name'], 'interval': f'{step}s',
              'input_series': [{'series': Str(s['series']), 'values': Str(s['values'])} for s in t['series']]}
        if t.get('alerts'):
            tt['alert_rule_test'] = t['alerts']
        if t.get('promql'):
            tt['promql_expr_test'] = t['promql']
        doc['tests'].append(tt)
    text = yaml.dump(doc, Dumper=Dumper, sort_keys=False, width=1000, default_flow_style=False)
    # Put each test's comment above it.
    out = []
    for line in text.splitlines():
        m = re.match(r'^- name: (.*)$', line)
        if m:
            out.append('')
        out.append(line)
    with open(path, 'w') as f:
        f.write(header.rstrip() + '\n' + '\n'.join(out) + '\n')


# ---------------------------------------------------------------- real recordings
TD = os.path.join(ROOT, 'collector', 'testdata')
LIVE = 'pacemaker/corpus__live-pcmk-2.1.5-pgsql-4.12-pg15__{scen}__{node}__crm_mon.prom'
_line = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_lab = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def load_prom(rel):
    """An exposition file, relative to collector/testdata (or absolute)."""
    out = {}
    for line in open(os.path.join(TD, rel)):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        m = _line.match(line)
        name, labels, v = m.group(1), m.group(3) or '', m.group(4)
        lab = {a: b.replace('\\\\', '\\').replace('\\"', '"') for a, b in _lab.findall(labels)}
        out[K(name, **lab)] = float(v.replace('+Inf', 'inf').replace('-Inf', '-inf'))
    return out


def real_cluster(pcmk=None, coro=None, pg=None, alive=NODES):
    """pcmk/coro/pg: {node: golden file relative to collector/testdata}."""
    snap = {}
    for n in NODES:
        base = {'job': JOB, 'instance': inst(n)}
        snap[('up', tuple(sorted(base.items())))] = 1 if n in alive else 0
        if n not in alive:
            continue
        ser = {BUILD_INFO: 1}
        cols = {}
        if pcmk and n in pcmk:
            ser.update({k: v for k, v in load_prom(pcmk[n]).items() if k[0] != 'pgha_pacemaker_local_node_info'})
            ser[K('pgha_pacemaker_local_node_info', node=n)] = 1
            ser[K('pgha_pacemaker_snapshot_age_seconds')] = 5
            cols['pacemaker'] = 1
        if coro and n in coro:
            ser.update(load_prom(coro[n]))
            ser[K('pgha_corosync_local_node_id')] = float(NODE_ID[n])
            cols['corosync'] = 1
        if pg and n in pg:
            ser.update(load_prom(pg[n]))
            cols['postgres'] = ser[K('pgha_postgres_up')]
        for c, v in cols.items():
            ser[K('pgha_scrape_collector_success', collector=c)] = v
        for (name, labels), v in ser.items():
            d = dict(labels)
            d.update(base)
            snap[(name, tuple(sorted(d.items())))] = v
    return snap


def live(scen):
    return {n: LIVE.format(scen=scen, node=n) for n in NODES}


COROSYNC_HEALTHY = {'pgdb1': 'corosync/live_05-primary-postgres-killed-failover_pgdb1.prom',
                    'pgdb2': 'corosync/live_01-healthy_pgdb2.prom',
                    'pgdb3': 'corosync/live_01-healthy_pgdb2.prom'}
PG_HEALTHY = {'pgdb1': 'postgres/primary-healthy-pg15.prom', 'pgdb2': 'postgres/standby-healthy-pg15.prom',
              'pgdb3': 'postgres/standby-healthy-pg15.prom'}


# ---------------------------------------------------------------- the real exporter's scrapes
# alerts/testdata/exporter: whole scrapes of the pgha_exporter binary (made by
# `go test ./alerts/ -run TestExporterExpositions -update`) over the generated
# crm_mon fixtures as each node's exporter sees them, the lab's corosync
# outputs and a PostgreSQL that is down.
EXP = os.path.join(ROOT, 'alerts', 'testdata', 'exporter')


def scrape(state, node, pg=None, drop_standbys=(), lost=(), quorate=None):
    """One exporter's series from the recorded scrape <state>__<node>__pg-down.

    pg: a PostgreSQL golden (collector/testdata/postgres, recorded from a real
    server) standing in for the down PostgreSQL; drop_standbys: walsenders of
    that golden to leave out (standbys that are gone). lost: nodes that left
    the corosync membership (the lab's corosync outputs show all three
    members; the votes, members and links of the others are adjusted to what
    corosync-quorumtool prints then); quorate: this node's partition quorate.
    """
    path = os.path.join(EXP, f'{state}__{node}__pg-down.prom')
    ser = load_prom(path)
    if pg:
        ser = {k: v for k, v in ser.items() if k[0] != 'pgha_postgres_up'}
        gold = load_prom(pg)
        gold = {k: v for k, v in gold.items() if dict(k[1]).get('application_name') not in drop_standbys}
        ser.update(gold)
        ser[K('pgha_scrape_collector_success', collector='postgres')] = gold[K('pgha_postgres_up')]
    if lost or quorate is not None:
        gone = {NODE_ID[n] for n in lost}
        members = [n for n in NODES if n not in lost]
        ser = {k: v for k, v in ser.items()
               if not (k[0] in ('pgha_corosync_member_info', 'pgha_corosync_member_votes', 'pgha_corosync_member_qdevice')
                       and dict(k[1])['node_id'] in gone)}
        for k in list(ser):
            if k[0] == 'pgha_corosync_link_connected' and dict(k[1])['node_id'] in gone:
                ser[k] = 0
        q = int(len(members) >= 2) if quorate is None else quorate
        ser[K('pgha_corosync_members')] = len(members)
        ser[K('pgha_corosync_votes', type='total')] = len(members)
        ser[K('pgha_corosync_quorate')] = q
        ser[K('pgha_corosync_quorum_flag', flag='quorate')] = q
    return ser


def scrapes(per_node, job=JOB, instances=None):
    """per_node: {node: series or None (exporter down)} -> one snapshot."""
    snap = {}
    for n, ser in per_node.items():
        base = {'job': job, 'instance': (instances or {}).get(n, inst(n))}
        snap[('up', tuple(sorted(base.items())))] = 0 if ser is None else 1
        for (name, labels), v in (ser or {}).items():
            d = dict(labels)
            d.update(base)
            snap[(name, tuple(sorted(d.items())))] = v
    return snap


PRIMARY = 'postgres/primary-healthy-pg15.prom'
STANDBY = 'postgres/standby-healthy-pg15.prom'


def real_healthy():
    """The healthy fixture as the three exporters scrape it, PostgreSQL up."""
    return scrapes({'pgdb1': scrape('healthy', 'pgdb1', pg=PRIMARY),
                    'pgdb2': scrape('healthy', 'pgdb2', pg=STANDBY),
                    'pgdb3': scrape('healthy', 'pgdb3', pg=STANDBY)})
