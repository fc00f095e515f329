# Regenerates dashboards/*.json: python3 dashboards/gen/dashboards.py
# (the dashboards are plain Grafana JSON; this keeps their layout consistent).
import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

DS = {'type': 'prometheus', 'uid': '${datasource}'}

# Import and provisioning both work (dashboards/README.md, "Data source"):
# every panel, query variable and annotation uses the `datasource` variable;
# the UI import asks for DS_PROMETHEUS (__inputs) and writes the chosen data
# source's uid into every "${DS_PROMETHEUS}" string, which appears only as the
# variable's current value. File provisioning substitutes nothing: the
# variable's current value then matches no data source and Grafana selects
# the first Prometheus data source instead.
DS_INPUT = 'DS_PROMETHEUS'
INPUTS = [{'name': DS_INPUT, 'label': 'Prometheus', 'description': 'The Prometheus that scrapes pgha_exporter (and evaluates the rules of alerts/)',
           'type': 'datasource', 'pluginId': 'prometheus', 'pluginName': 'Prometheus'}]
PANEL_NAMES = {'stat': 'Stat', 'table': 'Table', 'timeseries': 'Time series', 'state-timeline': 'State timeline'}


class Dash:
    def __init__(self):
        self.panels = []
        self.y = 0
        self.x = 0
        self.rowh = 0
        self.id = 0

    def row(self, title):
        self.newline()
        self.id += 1
        self.panels.append({'id': self.id, 'type': 'row', 'title': title, 'collapsed': False, 'panels': [],
                            'gridPos': {'h': 1, 'w': 24, 'x': 0, 'y': self.y}})
        self.y += 1

    def newline(self):
        if self.x:
            self.y += self.rowh
            self.x = 0
            self.rowh = 0

    def add(self, typ, title, targets, w, h, description='', unit=None, options=None, defaults=None,
            overrides=None, transformations=None):
        if self.x + w > 24:
            self.newline()
        self.id += 1
        fd = {'unit': unit} if unit else {}
        fd.update(defaults or {})
        p = {'id': self.id, 'type': typ, 'title': title, 'description': description, 'datasource': DS,
             'gridPos': {'h': h, 'w': w, 'x': self.x, 'y': self.y},
             'targets': [], 'fieldConfig': {'defaults': fd, 'overrides': overrides or []},
             'options': options or {}}
        if transformations:
            p['transformations'] = transformations
        for i, t in enumerate(targets):
            expr, legend = t[0], t[1]
            kind = t[2] if len(t) > 2 else ('instant' if typ in ('stat', 'table') else 'range')
            tt = {'refId': chr(65 + i), 'datasource': DS, 'expr': expr, 'legendFormat': legend}
            if kind == 'instant':
                tt.update({'instant': True, 'range': False})
            if kind == 'table':
                tt.update({'instant': True, 'range': False, 'format': 'table'})
            p['targets'].append(tt)
        self.panels.append(p)
        self.x += w
        self.rowh = max(self.rowh, h)
        return p


def stat(d, title, targets, w=4, h=4, description='', mappings=None, thresholds=None, unit=None, text_mode='value_and_name', color_mode='background'):
    defaults = {}
    if mappings:
        defaults['mappings'] = mappings
    if thresholds:
        defaults['thresholds'] = {'mode': 'absolute', 'steps': thresholds}
        defaults['color'] = {'mode': 'thresholds'}
    return d.add('stat', title, targets, w, h, description, unit=unit, defaults=defaults,
                 options={'reduceOptions': {'calcs': ['lastNotNull'], 'fields': '', 'values': False},
                          'colorMode': color_mode, 'graphMode': 'none', 'textMode': text_mode,
                          'justifyMode': 'auto', 'orientation': 'auto'})


def vmap(pairs):
    """pairs: (value, text, color)"""
    return [{'type': 'value', 'options': {str(v): {'text': t, 'color': c, 'index': i} for i, (v, t, c) in enumerate(pairs)}}]


def ts(d, title, targets, w=12, h=8, description='', unit=None, thresholds=None):
    defaults = {'custom': {'drawStyle': 'line', 'lineWidth': 1, 'fillOpacity': 10, 'showPoints': 'never', 'spanNulls': False}}
    if thresholds:
        defaults['thresholds'] = {'mode': 'absolute', 'steps': thresholds}
        defaults['custom']['thresholdsStyle'] = {'mode': 'line'}
    return d.add('timeseries', title, targets, w, h, description, unit=unit, defaults=defaults,
                 options={'legend': {'displayMode': 'table', 'placement': 'bottom', 'calcs': ['lastNotNull', 'max']},
                          'tooltip': {'mode': 'multi', 'sort': 'desc'}})


def table(d, title, targets, w=12, h=8, description='', merge=True, exclude=None, rename=None, overrides=None, unit=None):
    tr = []
    if merge and len(targets) > 1:
        tr.append({'id': 'merge', 'options': {}})
    ex = {'Time': True}
    for e in exclude or []:
        ex[e] = True
    tr.append({'id': 'organize', 'options': {'excludeByName': ex, 'renameByName': rename or {}}})
    return d.add('table', title, [(t[0], t[1], 'table') for t in targets], w, h, description, unit=unit,
                 options={'showHeader': True, 'cellHeight': 'sm', 'footer': {'show': False}},
                 overrides=overrides, transformations=tr)


def timeline(d, title, targets, w=24, h=6, description='', mappings=None):
    defaults = {'custom': {'fillOpacity': 80, 'lineWidth': 0}, 'color': {'mode': 'thresholds'},
                'thresholds': {'mode': 'absolute', 'steps': [{'color': 'red', 'value': None}, {'color': 'green', 'value': 1}]}}
    if mappings:
        defaults['mappings'] = mappings
    return d.add('state-timeline', title, targets, w, h, description, defaults=defaults,
                 options={'showValue': 'never', 'mergeValues': True, 'rowHeight': 0.8,
                          'legend': {'showLegend': False}, 'tooltip': {'mode': 'single'}})


def var_ds():
    return {'name': 'datasource', 'label': 'Data source', 'type': 'datasource', 'query': 'prometheus',
            'current': {'selected': False, 'text': '${%s}' % DS_INPUT, 'value': '${%s}' % DS_INPUT}, 'hide': 0, 'refresh': 1, 'regex': '', 'options': [], 'includeAll': False, 'multi': False}


def var_query(name, label, query, multi=False, include_all=False, all_value=None, regex=''):
    v = {'name': name, 'label': label, 'type': 'query', 'datasource': DS,
         'definition': query, 'query': {'query': query, 'refId': 'PrometheusVariableQueryEditor-VariableQuery'},
         'current': {}, 'hide': 0, 'refresh': 2, 'regex': regex, 'sort': 1, 'options': [],
         'multi': multi, 'includeAll': include_all}
    if all_value is not None:
        v['allValue'] = all_value
    return v


def requires(panels):
    types = sorted({p['type'] for p in panels if p['type'] != 'row'})
    return ([{'type': 'grafana', 'id': 'grafana', 'name': 'Grafana', 'version': '10.0.0'},
             {'type': 'datasource', 'id': 'prometheus', 'name': 'Prometheus', 'version': '1.0.0'}] +
            [{'type': 'panel', 'id': t, 'name': PANEL_NAMES[t], 'version': ''} for t in types])


def annotation(name, expr, title, text, tags, color, use_value_for_time=False, step='1m'):
    """A Prometheus annotation query: every sample the expression returns
    marks its time (with use_value_for_time, the time in ms that the sample's
    value holds)."""
    return {'name': name, 'datasource': DS, 'enable': True, 'hide': False, 'iconColor': color,
            'expr': expr, 'step': step, 'titleFormat': title, 'textFormat': text, 'tagKeys': tags,
            'useValueForTime': use_value_for_time}


def dashboard(uid, title, description, panels, variables, links, annotations=()):
    return {
        '__inputs': INPUTS, '__requires': requires(panels),
        'uid': uid, 'title': title, 'description': description,
        'tags': ['pgha', 'pacemaker', 'postgresql'],
        'schemaVersion': 39, 'version': 1, 'editable': True, 'graphTooltip': 1,
        'time': {'from': 'now-6h', 'to': 'now'}, 'refresh': '30s', 'timezone': '',
        'annotations': {'list': [{'builtIn': 1, 'datasource': {'type': 'grafana', 'uid': '-- Grafana --'},
                                  'enable': True, 'hide': True, 'iconColor': 'rgba(0, 211, 255, 1)',
                                  'name': 'Annotations & Alerts', 'type': 'dashboard'}] + list(annotations)},
        'templating': {'list': variables},
        'links': links,
        'panels': panels,
        'fiscalYearStartMonth': 0, 'liveNow': False, 'weekStart': '',
    }


J = 'job=~"$job"'
JI = 'job=~"$job", instance=~"$instance"'


def node_of(sel):
    """One series per exporter target with its cluster node's name in
    `node`: the recording rule instance:pgha_node:info (which remembers the
    name while the exporter is down), else the exporter's own
    pgha_pacemaker_local_node_info (rules not loaded), else the target's
    address (no Pacemaker view at all), so a join never drops a target."""
    return (f'(instance:pgha_node:info{{{sel}, node!=""}}'
            f' or on (cluster, job, instance) pgha_pacemaker_local_node_info{{{sel}}}'
            f' or on (cluster, job, instance) label_replace(group by (cluster, job, instance) (up{{{sel}}}), "node", "$1", "instance", "(.*)"))')


def by_node(expr, sel=J):
    """expr (per exporter target) with the label `node` of its target."""
    return f'{expr} * on (cluster, job, instance) group_left (node) {node_of(sel)}'
OKBAD = vmap([(1, 'OK', 'green'), (0, 'NO', 'red')])
RG = [{'color': 'red', 'value': None}, {'color': 'green', 'value': 1}]


def failure_annotations():
    """What failed and when, on every panel of a cluster's dashboards:
    promotions (at the time Pacemaker recorded them), fencing actions,
    PostgreSQL timeline changes."""
    fence = f'max by (target, action, status) (pgha_pacemaker_fence_events{{{J}}})'
    fence_before = f'max by (target, action, status) (pgha_pacemaker_fence_events{{{J}}} offset 1m)'
    return [
        annotation('Promotions', f'max by (clone, node) (pgha_pacemaker_last_promotion_timestamp_seconds{{{J}}}) * 1000',
                   'Promotion', '{{clone}} promoted on {{node}}', 'clone,node', 'purple', use_value_for_time=True),
        annotation('Fencing', f'({fence} - {fence_before}) > 0 or ({fence} unless {fence_before})',
                   'Fencing', '{{action}} of {{target}}: {{status}}', 'target,action,status', 'red'),
        annotation('Timeline changes', f'max by (node) ({by_node(f"changes(pgha_postgres_timeline_id{{{J}}}[2m])")}) > 0',
                   'Timeline change', 'PostgreSQL on {{node}} changed timeline', 'node', 'orange'),
    ]


def overview():
    d = Dash()
    d.row('Cluster (Pacemaker, as the exporters of $job see it)')
    stat(d, 'Quorum', [(f'max(pgha_pacemaker_quorate{{{J}}})', 'quorate')],
         description='1 when any exporter\'s partition has quorum (current_dc with_quorum).',
         mappings=vmap([(1, 'quorate', 'green'), (0, 'NO QUORUM', 'red')]), thresholds=RG, text_mode='value')
    stat(d, 'DC', [(f'max by (dc) (pgha_pacemaker_info{{{J}, dc!=""}})', '{{dc}}')],
         description='The designated controller (empty without one).', text_mode='name', color_mode='none')
    stat(d, 'Nodes online', [(f'sum(min by (node) (pgha_pacemaker_node_online{{{J}}}))', 'online'),
                             (f'count(count by (node) (pgha_pacemaker_node_online{{{J}}}))', 'configured')],
         description='Online nodes (min over the exporters) and configured nodes.', color_mode='none')
    stat(d, 'Nodes in standby', [(f'sum(max by (node) (pgha_pacemaker_node_standby{{{J}}}))', 'standby')],
         thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 1}], text_mode='value')
    stat(d, 'Nodes in maintenance', [(f'sum(max by (node) (pgha_pacemaker_node_maintenance{{{J}}}))', 'nodes'),
                                     (f'max(pgha_pacemaker_maintenance_mode{{{J}}})', 'maintenance-mode')],
         thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 1}])
    stat(d, 'STONITH', [(f'min(pgha_pacemaker_stonith_enabled{{{J}}})', 'stonith-enabled')],
         description='stonith-enabled (absent on Pacemaker <= 1.1.13).',
         mappings=vmap([(1, 'enabled', 'green'), (0, 'DISABLED', 'orange')]), text_mode='value')
    timeline(d, 'Nodes', [(f'min by (node) (pgha_pacemaker_node_online{{{J}}}) - on (node) group_left() (max by (node) (pgha_pacemaker_node_standby{{{J}}}) * 2) - on (node) group_left() (max by (node) (pgha_pacemaker_node_maintenance{{{J}}}) * 4)', '{{node}}')],
             h=5, description='Per node: online, standby, maintenance or offline.',
             mappings=vmap([(1, 'online', 'green'), (0, 'offline', 'red'), (-1, 'standby', 'orange'),
                            (-3, 'maintenance', 'blue'), (-2, 'offline+standby', 'red'),
                            (-4, 'offline+maintenance', 'red'), (-5, 'standby+maintenance', 'blue')]))

    d.row('Roles')
    stat(d, 'Primary (Pacemaker: promoted)', [(f'max by (node) (pgha_pacemaker_resource_role{{{J}, role="promoted"}} == 1)', '{{node}}')],
         w=6, description='Nodes where a promotable clone is promoted.', text_mode='name', color_mode='none')
    stat(d, 'Primary (PostgreSQL: not in recovery)', [(f'max by (node) ({by_node(f"(pgha_postgres_in_recovery{{{J}}} == 0)")}) + 1', '{{node}}')],
         w=6, description='Servers where pg_is_in_recovery() is false. More than one is split brain.', text_mode='name', color_mode='none')
    stat(d, 'Sync standby (pgsql HS:sync)', [(f'max by (node) (pgha_pgsql_status{{{J}, status="HS:sync"}} == 1)', '{{node}}')],
         w=6, text_mode='name', color_mode='none')
    stat(d, 'Sync standby (PostgreSQL sync_state)', [(f'max by (application_name) (pgha_postgres_replication_sync_state{{{J}, sync_state=~"sync|quorum"}} == 1)', '{{application_name}}')],
         w=6, text_mode='name', color_mode='none')
    table(d, 'pgsql agent attributes', [
        (f'max by (node, status) (pgha_pgsql_status{{{J}}} == 1)', ''),
        (f'max by (node, data_status) (pgha_pgsql_data_status{{{J}}} == 1)', ''),
        (f'max by (node) (pgha_pacemaker_promotion_score{{{J}}})', ''),
        (f'min by (node) (pgha_pacemaker_node_online{{{J}}})', '')],
        w=12, h=7, exclude=['Value #A', 'Value #B'],
        rename={'Value #C': 'promotion score', 'Value #D': 'online'},
        description='Healthy rep_mode=sync: PRI/LATEST/1000, HS:sync/STREAMING|SYNC/100, HS:async/STREAMING|ASYNC/-Inf.')
    timeline(d, 'pgsql status history', [(f'max by (node, status) (pgha_pgsql_status{{{J}}}) == 1', '{{node}} {{status}}')],
             w=12, h=7, description='One row per node and <rsc>-status value, filled while the node had that status.',
             mappings=vmap([(1, 'current', 'green')]))

    d.row('What failed and when')
    promo = f'max by (clone, node) (pgha_pacemaker_last_promotion_timestamp_seconds{{{J}}})'
    at = lambda name: {'matcher': {'id': 'byName', 'options': name}, 'properties': [{'id': 'unit', 'value': 'dateTimeAsIso'}]}
    table(d, 'Last promotion per clone', [(f'topk by (clone) (1, {promo}) * 1000', '')],
          w=8, h=6, rename={'Value': 'promoted at'}, overrides=[at('promoted at')],
          description='The last successful promote of each promotable clone in Pacemaker\'s operation history (last-rc-change), and the node it ran on: the current primary\'s promotion after a failover or switchover. Offline nodes report no history.')
    stat(d, 'Since the last promotion', [(f'time() - max by (clone) (pgha_pacemaker_last_promotion_timestamp_seconds{{{J}}})', '{{clone}}')],
         w=4, h=6, unit='s', color_mode='none', description='Time since the last promotion of each promotable clone.')
    table(d, 'Last failure per resource and node', [
        (f'max by (resource, node) (pgha_pacemaker_last_failure_timestamp_seconds{{{J}}}) * 1000', ''),
        (f'max by (resource, node) (pgha_pacemaker_failcount{{{J}}}) > 0', '')],
        w=12, h=6, rename={'Value #A': 'last failure', 'Value #B': 'fail count'}, overrides=[at('last failure')],
        description='When each resource last failed on each node (crm_mon last-failure), with its current fail count (empty once cleaned up).')
    table(d, 'Fencing history', [(f'max by (target, action, status) (pgha_pacemaker_fence_events{{{J}}})', '')],
          w=8, h=6, rename={'Value': 'actions'},
          description='Fencing actions in crm_mon\'s fence history by target, action and status (success, failed, pending). A failed action leaves the target UNCLEAN and blocks recovery.')
    ts(d, 'PostgreSQL timeline per node', [(f'max by (node) ({by_node(f"pgha_postgres_timeline_id{{{J}}}")})', '{{node}}')],
       w=16, h=6, unit='none',
       description='Each server\'s timeline (pgha_postgres_timeline_id). A promotion starts a new timeline on the new primary; standbys follow it. A standby left on an old timeline needs a rebuild (docs/runbooks.md).')

    d.row('Replication')
    ts(d, 'Lag per standby (bytes)', [(f'max by (application_name, stage) (pgha_postgres_replication_lag_bytes{{{J}, stage=~"flush|replay"}})', '{{application_name}} {{stage}}')],
       unit='bytes', description='Primary end of WAL minus each standby\'s flush and replay position. The sync standby\'s flush lag should stay near 0 (alert at 16 MiB).',
       thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 16777216}])
    ts(d, 'Lag per standby (seconds)', [(f'max by (application_name, stage) (pgha_postgres_replication_lag_seconds{{{J}}})', '{{application_name}} {{stage}} (primary)'),
                                        (by_node(f'pgha_postgres_replay_lag_seconds{{{J}}}'), '{{node}} replay (standby)')],
       unit='s', description='write/flush/replay_lag from pg_stat_replication, and each standby\'s idle-safe replay lag (alert at 300 s).',
       thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 300}])
    stat(d, 'Sync standbys on the primary', [(f'max(pgha_postgres_sync_standbys{{{J}}} and on (job, instance) (pgha_postgres_in_recovery{{{J}}} == 0))', 'connected'),
                                             (f'max(pgha_postgres_sync_standbys_required{{{J}}} and on (job, instance) (pgha_postgres_in_recovery{{{J}}} == 0))', 'required')],
         w=6, color_mode='none')
    stat(d, 'Commits', [(f'max(pgha_postgres_commits_protected{{{J}}})', 'protected'),
                        (f'max(pgha_postgres_writes_blocked_risk{{{J}}})', 'writes blocked')],
         w=6, mappings=vmap([(1, 'yes', 'text'), (0, 'no', 'text')]), color_mode='none')
    stat(d, 'WAL receivers (standbys)', [(by_node(f'pgha_postgres_wal_receiver_up{{{J}}}'), '{{node}}')], w=6,
         mappings=vmap([(1, 'streaming', 'green'), (0, 'DOWN', 'red')]), thresholds=RG)
    stat(d, 'Archiver failing', [(by_node(f'pgha_postgres_archiver_failing{{{J}}}'), '{{node}}')], w=6,
         mappings=vmap([(0, 'ok', 'green'), (1, 'FAILING', 'red')]),
         thresholds=[{'color': 'green', 'value': None}, {'color': 'red', 'value': 1}])

    d.row('Resources')
    table(d, 'Fail counts vs migration-threshold', [
        (f'max by (resource, node) (pgha_pacemaker_failcount{{{J}}})', ''),
        (f'max by (resource, node) (pgha_pacemaker_migration_threshold{{{J}}})', '')],
        w=12, h=8, rename={'Value #A': 'fail count', 'Value #B': 'migration-threshold'},
        description='Banned when fail count >= migration-threshold > 0 (0 disables banning; +Inf is the default).')
    table(d, 'Resource placement', [(f'max by (resource, node, role) (pgha_pacemaker_resource_role{{{J}}}) == 1', '')],
          w=12, h=8, exclude=['Value'], description='Where every resource instance runs, and its role.')
    table(d, 'Failed resources and actions', [
        (f'max by (resource, node) (pgha_pacemaker_resource_failed{{{J}}}) == 1', ''),
        (f'max by (resource, node, operation) (pgha_pacemaker_failed_actions{{{J}}})', '')],
        w=12, h=6, merge=False)
    table(d, 'Location constraints (cli-ban / cli-prefer)', [(f'max by (id, resource, node, role) (pgha_pacemaker_location_constraint{{{J}}})', '')],
          w=12, h=6, rename={'Value': 'score'})

    d.row('corosync')
    stat(d, 'Quorate (per node)', [(by_node(f'pgha_corosync_quorate{{{J}}}'), '{{node}}')], w=8,
         mappings=vmap([(1, 'quorate', 'green'), (0, 'NO QUORUM', 'red')]), thresholds=RG)
    stat(d, 'Votes', [(f'max by (type) (pgha_corosync_votes{{{J}}})', '{{type}}')], w=8, color_mode='none')
    stat(d, 'Members (per node)', [(by_node(f'pgha_corosync_members{{{J}}}'), '{{node}}')], w=8, color_mode='none')
    timeline(d, 'knet links (connected)', [(by_node(f'pgha_corosync_link_connected{{{J}}}'), '{{node}} link {{link}} -> node {{node_id}}')],
             w=12, h=8, mappings=vmap([(1, 'connected', 'green'), (0, 'DISCONNECTED', 'red')]))
    timeline(d, 'Rings (corosync 1/2)', [(by_node(f'(1 - pgha_corosync_ring_faulty{{{J}}})'), '{{node}} ring {{ring}} {{address}}')],
             w=12, h=8, mappings=vmap([(1, 'active', 'green'), (0, 'FAULTY', 'red')]))

    d.row('Alerts and exporter')
    table(d, 'Firing pgha alerts', [(f'ALERTS{{alertstate="firing", alertname=~"Pgha.*", {J}}}', '')],
          w=12, h=8, exclude=['Value', '__name__', 'alertstate', 'instance'],
          description='The alerts of alerts/*.yml that fire now (the ALERTS series Prometheus writes). Per-host alerts carry the cluster node in `node` (the rules join it).')
    ts(d, 'Snapshot age', [(by_node(f'pgha_pacemaker_snapshot_age_seconds{{{J}}}'), '{{node}} pacemaker'),
                           (by_node(f'pgha_corosync_snapshot_age_seconds{{{J}}}'), '{{node}} corosync')],
       unit='s', description='Age of the snapshot each exporter serves (refreshed every 5 s; alert at 30 s).',
       thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 30}])
    stat(d, 'Exporters up', [(by_node(f'up{{{J}}}'), '{{node}}')], w=12, mappings=vmap([(1, 'up', 'green'), (0, 'DOWN', 'red')]), thresholds=RG)
    stat(d, 'Collectors', [(by_node(f'pgha_scrape_collector_success{{{J}}}'), '{{node}} {{collector}}')], w=12,
         mappings=vmap([(1, 'ok', 'green'), (0, 'FAIL', 'red')]), thresholds=RG)

    variables = [var_ds(), var_query('job', 'Job (cluster)', 'label_values(pgha_exporter_build_info, job)')]
    links = [{'title': 'Node detail', 'type': 'dashboards', 'tags': ['pgha'], 'asDropdown': False,
              'includeVars': True, 'keepTime': True}]
    return dashboard('pgha-cluster-overview', 'PostgreSQL HA cluster: overview',
                     'Pacemaker/Corosync cluster with the ocf:heartbeat:pgsql agent, as pgha_exporter reports it (one job = one cluster).',
                     d.panels, variables, links, failure_annotations())


def node_detail():
    d = Dash()
    LOCAL = f'pgha_pacemaker_local_node_info{{{JI}}}'
    d.row('Exporter')
    stat(d, 'Scrape', [(f'up{{{JI}}}', 'up')], w=4, mappings=vmap([(1, 'up', 'green'), (0, 'DOWN', 'red')]), thresholds=RG, text_mode='value')
    stat(d, 'Version', [(f'pgha_exporter_build_info{{{JI}}}', '{{version}}')], w=4, text_mode='name', color_mode='none')
    stat(d, 'Cluster node', [(LOCAL, '{{node}}')], w=4, text_mode='name', color_mode='none')
    stat(d, 'Collectors', [(f'pgha_scrape_collector_success{{{JI}}}', '{{collector}}')], w=12,
         mappings=vmap([(1, 'ok', 'green'), (0, 'FAIL', 'red')]), thresholds=RG)
    ts(d, 'Collector duration', [(f'pgha_scrape_collector_duration_seconds{{{JI}}}', '{{collector}}')], unit='s')
    ts(d, 'Snapshot age and refresh', [(f'pgha_pacemaker_snapshot_age_seconds{{{JI}}}', 'pacemaker age'),
                                       (f'pgha_corosync_snapshot_age_seconds{{{JI}}}', 'corosync age'),
                                       (f'pgha_pacemaker_refresh_duration_seconds{{{JI}}}', 'crm_mon duration')], unit='s')

    d.row('This node in Pacemaker')
    stat(d, 'Node state', [
        (f'max(pgha_pacemaker_node_online{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', 'online'),
        (f'max(pgha_pacemaker_node_standby{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', 'standby'),
        (f'max(pgha_pacemaker_node_maintenance{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', 'maintenance'),
        (f'max(pgha_pacemaker_node_is_dc{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', 'DC')],
        w=8, mappings=vmap([(1, 'yes', 'text'), (0, 'no', 'text')]), color_mode='none')
    table(d, 'Resources on this node', [(f'max by (resource, role) (pgha_pacemaker_resource_role{{{JI}}} * on (job, instance, node) group_left() {LOCAL}) == 1', '')],
          w=8, h=6, exclude=['Value'])
    table(d, 'pgsql attributes of this node', [
        (f'max by (node, status) ((pgha_pgsql_status{{{JI}}} == 1) * on (job, instance, node) group_left() {LOCAL})', ''),
        (f'max by (node, data_status) ((pgha_pgsql_data_status{{{JI}}} == 1) * on (job, instance, node) group_left() {LOCAL})', ''),
        (f'max by (node) (pgha_pacemaker_promotion_score{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', ''),
        (f'max by (node) (pgha_pgsql_receiver_ok{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', '')],
        w=8, h=6, exclude=['Value #A', 'Value #B'], rename={'Value #C': 'promotion score', 'Value #D': 'receiver ok'})
    ts(d, 'Fail counts on this node', [(f'max by (resource) (pgha_pacemaker_failcount{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', '{{resource}}')])
    ts(d, 'Resources running on this node', [(f'max(pgha_pacemaker_node_resources_running{{{JI}}} * on (job, instance, node) group_left() {LOCAL})', 'running')])

    d.row('PostgreSQL')
    stat(d, 'PostgreSQL', [(f'pgha_postgres_up{{{JI}}}', 'up')], w=4, mappings=vmap([(1, 'up', 'green'), (0, 'DOWN', 'red')]), thresholds=RG, text_mode='value')
    stat(d, 'Role', [(f'pgha_postgres_in_recovery{{{JI}}}', 'role')], w=4,
         mappings=vmap([(0, 'primary', 'blue'), (1, 'standby', 'purple')]), text_mode='value')
    stat(d, 'Role agrees with Pacemaker', [(f'pgha_local_role_mismatch{{{JI}}}', 'mismatch')], w=4,
         mappings=vmap([(0, 'agrees', 'green'), (1, 'MISMATCH', 'red')]),
         thresholds=[{'color': 'green', 'value': None}, {'color': 'red', 'value': 1}], text_mode='value')
    stat(d, 'Version', [(f'pgha_postgres_info{{{JI}}}', '{{version}}')], w=4, text_mode='name', color_mode='none')
    stat(d, 'Timeline', [(f'pgha_postgres_timeline_id{{{JI}}}', 'timeline')], w=4, color_mode='none', text_mode='value')
    stat(d, 'Replay paused', [(f'pgha_postgres_replay_paused{{{JI}}}', 'paused')], w=4,
         mappings=vmap([(0, 'no', 'green'), (1, 'PAUSED', 'orange')]), text_mode='value')
    ts(d, 'WAL written', [(f'rate(pgha_postgres_wal_position_bytes{{{JI}}}[$__rate_interval])', '{{kind}}')], unit='Bps',
       description='Rate of the WAL positions (current on a primary, receive/replay on a standby).')
    ts(d, 'Replication lag of the standbys (bytes, on the primary)', [(f'pgha_postgres_replication_lag_bytes{{{JI}}}', '{{application_name}} {{stage}}')], unit='bytes')
    ts(d, 'Replication lag of the standbys (seconds, on the primary)', [(f'pgha_postgres_replication_lag_seconds{{{JI}}}', '{{application_name}} {{stage}}'),
                                                                       (f'pgha_postgres_replication_reply_age_seconds{{{JI}}}', '{{application_name}} reply age')], unit='s')
    table(d, 'Standbys (on the primary)', [(f'pgha_postgres_replication_state{{{JI}}} == 1', ''),
                                           (f'pgha_postgres_replication_sync_state{{{JI}}} == 1', '')],
          w=12, h=8, exclude=['Value #A', 'Value #B', '__name__', 'job', 'instance'])
    ts(d, 'This standby: apply lag', [(f'pgha_postgres_replay_lag_seconds{{{JI}}}', 'replay lag (s)'),
                                      (f'pgha_postgres_wal_receiver_last_message_age_seconds{{{JI}}}', 'last message from the primary (s)')], unit='s')
    ts(d, 'This standby: apply backlog', [(f'pgha_postgres_replay_lag_bytes{{{JI}}}', 'received, not replayed')], unit='bytes')
    stat(d, 'WAL receiver', [(f'pgha_postgres_wal_receiver_up{{{JI}}}', 'up'),
                             (f'max by (status) (pgha_postgres_wal_receiver_status{{{JI}}} == 1)', '{{status}}')], w=12, color_mode='none')
    stat(d, 'Sync protection', [(f'pgha_postgres_sync_standbys{{{JI}}}', 'sync standbys'),
                                (f'pgha_postgres_sync_standbys_required{{{JI}}}', 'required'),
                                (f'pgha_postgres_synchronous_standby_names_set{{{JI}}}', 'names set'),
                                (f'pgha_postgres_commits_protected{{{JI}}}', 'commits protected'),
                                (f'pgha_postgres_writes_blocked_risk{{{JI}}}', 'writes blocked')], w=12, color_mode='none')
    ts(d, 'Archiver', [(f'rate(pgha_postgres_archiver_archived_total{{{JI}}}[$__rate_interval])', 'archived/s'),
                       (f'rate(pgha_postgres_archiver_failed_total{{{JI}}}[$__rate_interval])', 'failed/s'),
                       (f'pgha_postgres_archiver_ready_files{{{JI}}}', '.ready files')])
    ts(d, 'Replication slots: retained WAL', [(f'pgha_postgres_slot_retained_bytes{{{JI}}}', '{{slot_name}} ({{slot_type}})')], unit='bytes',
       thresholds=[{'color': 'green', 'value': None}, {'color': 'orange', 'value': 8589934592}])

    d.row('corosync')
    stat(d, 'Quorum', [(f'pgha_corosync_quorate{{{JI}}}', 'quorate'), (f'pgha_corosync_activity_blocked{{{JI}}}', 'activity blocked')], w=8, color_mode='none',
         mappings=vmap([(1, 'yes', 'text'), (0, 'no', 'text')]))
    stat(d, 'Votes', [(f'pgha_corosync_votes{{{JI}}}', '{{type}}')], w=8, color_mode='none')
    stat(d, 'Members', [(f'pgha_corosync_member_info{{{JI}}}', '{{name}} ({{node_id}})')], w=8, text_mode='name', color_mode='none')
    timeline(d, 'knet links', [(f'pgha_corosync_link_connected{{{JI}}}', 'link {{link}} -> node {{node_id}}')], w=12,
             mappings=vmap([(1, 'connected', 'green'), (0, 'DISCONNECTED', 'red')]))
    timeline(d, 'Rings', [(f'1 - pgha_corosync_ring_faulty{{{JI}}}', 'ring {{ring}} {{address}}')], w=12,
             mappings=vmap([(1, 'active', 'green'), (0, 'FAULTY', 'red')]))

    variables = [var_ds(), var_query('job', 'Job (cluster)', 'label_values(pgha_exporter_build_info, job)'),
                 # The target (value) chosen by its cluster node's name (text):
                 # query_result lines read {instance="...", node="..."} 1 <time>.
                 var_query('instance', 'Node', f'query_result(max by (instance, node) ({node_of(J)}))',
                           regex='/instance="(?<value>[^"]*)".*node="(?<text>[^"]*)"/')]
    links = [{'title': 'Cluster overview', 'type': 'dashboards', 'tags': ['pgha'], 'asDropdown': False,
              'includeVars': True, 'keepTime': True}]
    return dashboard('pgha-node-detail', 'PostgreSQL HA cluster: node detail',
                     'One node of the cluster: its exporter, its Pacemaker state, its PostgreSQL and its corosync view.',
                     d.panels, variables, links, failure_annotations())


def fleet():
    """Every cluster on one screen, for hundreds of clusters in one
    Prometheus/Thanos/Mimir: only fleet-wide numbers and one table row per
    (cluster, job), read from the recording rules of alerts/ (cheap instant
    queries), never a panel per cluster."""
    F = 'cluster=~"$cluster", job=~"$job"'
    by = 'by (cluster, job)'
    d = Dash()
    d.row('Fleet ($cluster / $job)')
    red_if = [{'color': 'green', 'value': None}, {'color': 'red', 'value': 1}]
    orange_if = [{'color': 'green', 'value': None}, {'color': 'orange', 'value': 1}]
    stat(d, 'Clusters', [(f'count(count {by} (instance:pgha_exporter_up:bool{{{F}}}))', 'clusters')],
         description='(cluster, job) groups with pgha_exporter targets.', color_mode='none', text_mode='value')
    stat(d, 'Paging', [(f'count(count {by} (ALERTS{{{F}, alertname=~"Pgha.+", alertstate="firing", severity="critical"}})) or vector(0)', 'clusters')],
         description='Clusters with at least one firing critical pgha alert.', thresholds=red_if, text_mode='value')
    stat(d, 'No quorum', [(f'count(cluster:pgha_pacemaker_quorate:max{{{F}}} == 0) or vector(0)', 'clusters')],
         description='Clusters without a quorate partition.', thresholds=red_if, text_mode='value')
    stat(d, 'At minimum quorum', [(f'count(cluster:pgha_quorum_margin:min{{{F}}} <= 0) or vector(0)', 'clusters')],
         description='Clusters whose quorate partition cannot lose another vote.', thresholds=red_if, text_mode='value')
    stat(d, 'No primary', [(f'count(cluster:pgha_postgres_primaries:sum{{{F}}} == 0) or vector(0)', 'clusters')],
         description='Clusters where no PostgreSQL server is a primary (PostgreSQL\'s own view).', thresholds=red_if, text_mode='value')
    stat(d, 'Exporters down', [(f'count(instance:pgha_exporter_up:bool{{{F}}} == 0) or vector(0)', 'exporters')],
         description='pgha_exporter targets that do not answer.', thresholds=orange_if, text_mode='value')

    d.row('Every cluster')
    table(d, 'Clusters', [
        (f'sum {by} (instance:pgha_exporter_up:bool{{{F}}})', 'exporters up'),
        (f'count {by} (instance:pgha_exporter_up:bool{{{F}}})', 'exporters'),
        (f'cluster:pgha_pacemaker_quorate:max{{{F}}}', 'quorate'),
        (f'cluster:pgha_quorum_margin:min{{{F}}}', 'quorum margin'),
        (f'sum {by} (cluster_node:pgha_pacemaker_node_online:min{{{F}}})', 'nodes online'),
        (f'max by (cluster, job, primary) (label_replace(cluster_node:pgha_pgsql_primary:bool{{{F}}}, "primary", "$1", "node", "(.*)"))', 'primary'),
        (f'max by (cluster, job, sync_standby) (label_replace(cluster_resource_node:pgha_pgsql_status:max{{{F}, status="HS:sync"}} == 1, "sync_standby", "$1", "node", "(.*)"))', 'sync standby'),
        (f'cluster:pgha_postgres_primaries:sum{{{F}}}', 'PostgreSQL primaries'),
        (f'max {by} (pgha_postgres_replication_lag_bytes{{{F}, stage="flush"}})', 'max flush lag'),
        (f'max {by} (pgha_postgres_replay_lag_seconds{{{F}}})', 'max replay lag'),
        (f'sum {by} (cluster_resource_node:pgha_pacemaker_resource_failed:max{{{F}}})', 'failed resources'),
        (f'max {by} (pgha_pacemaker_maintenance_mode{{{F}}})', 'maintenance-mode'),
        (f'count {by} (ALERTS{{{F}, alertname=~"Pgha.+", alertstate="firing", severity="critical"}})', 'critical alerts'),
        (f'count by (cluster, job, cluster_name) (pgha_pacemaker_cluster_info{{{F}}})', 'name'),
        (f'max {by} (pgha_pacemaker_last_promotion_timestamp_seconds{{{F}}}) * 1000', 'last promotion'),
        (f'max {by} (pgha_pacemaker_last_failure_timestamp_seconds{{{F}}}) * 1000', 'last failure'),
        (f'sum {by} (max by (cluster, job, target, action) (pgha_pacemaker_fence_events{{{F}, status="failed"}}))', 'failed fencing'),
    ], w=24, h=20, description='One row per (cluster, job). Primary and sync standby are the pgsql agent\'s view (PRI / HS:sync); PostgreSQL primaries count servers not in recovery; lags are the worst of the cluster; the quorum margin is how many more votes the quorate partition can lose (0: at minimum quorum). Sort by a column to find the clusters in trouble.',
          exclude=['Value #F', 'Value #G', 'Value #N'],
          rename={'primary': 'primary', 'sync_standby': 'sync standby',
                  'Value #A': 'exporters up', 'Value #B': 'exporters',
                  'Value #C': 'quorate', 'Value #D': 'quorum margin', 'Value #E': 'nodes online',
                  'Value #H': 'PostgreSQL primaries', 'Value #I': 'max flush lag', 'Value #J': 'max replay lag (s)',
                  'Value #K': 'failed resources', 'Value #L': 'maintenance-mode', 'Value #M': 'critical alerts',
                  'Value #O': 'last promotion', 'Value #P': 'last failure', 'Value #Q': 'failed fencing actions',
                  'cluster_name': 'cluster-name'},
          overrides=[{'matcher': {'id': 'byName', 'options': 'max flush lag'}, 'properties': [{'id': 'unit', 'value': 'bytes'}]},
                     {'matcher': {'id': 'byName', 'options': 'max replay lag (s)'}, 'properties': [{'id': 'unit', 'value': 's'}]},
                     {'matcher': {'id': 'byName', 'options': 'last promotion'}, 'properties': [{'id': 'unit', 'value': 'dateTimeAsIso'}]},
                     {'matcher': {'id': 'byName', 'options': 'last failure'}, 'properties': [{'id': 'unit', 'value': 'dateTimeAsIso'}]}])

    d.row('Over time')
    ts(d, 'Clusters in trouble', [
        (f'count(cluster:pgha_pacemaker_quorate:max{{{F}}} == 0) or vector(0)', 'no quorum'),
        (f'count(cluster:pgha_quorum_margin:min{{{F}}} <= 0) or vector(0)', 'at minimum quorum'),
        (f'count(cluster:pgha_postgres_primaries:sum{{{F}}} == 0) or vector(0)', 'no PostgreSQL primary'),
        (f'count(cluster_resource:pgha_pgsql_sync_standbys:sum{{{F}}} == 0) or vector(0)', 'no sync standby'),
        (f'count(count {by} (cluster_resource_node:pgha_pacemaker_resource_failed:max{{{F}}} == 1)) or vector(0)', 'failed resources')],
       w=24, description='How many clusters are in each state (fleet-wide counts, no series per cluster).')
    ts(d, 'What failed and when', [
        (f'count(count {by} (changes(pgha_pacemaker_last_promotion_timestamp_seconds{{{F}}}[$__rate_interval]) > 0)) or vector(0)', 'clusters with a promotion'),
        (f'count(count {by} (changes(pgha_pacemaker_last_failure_timestamp_seconds{{{F}}}[$__rate_interval]) > 0)) or vector(0)', 'clusters with a new resource failure'),
        (f'count(count {by} (changes(pgha_pacemaker_fence_events{{{F}}}[$__rate_interval]) > 0)) or vector(0)', 'clusters with a fencing action'),
        (f'count(count {by} (changes(pgha_postgres_timeline_id{{{F}}}[$__rate_interval]) > 0)) or vector(0)', 'clusters with a timeline change')],
       w=24, description='How many clusters had a promotion (failover or switchover), a new resource failure, a fencing action or a PostgreSQL timeline change in each interval (fleet-wide counts; the table above has each cluster\'s last promotion and failure).')

    variables = [var_ds(),
                 var_query('cluster', 'Cluster', 'label_values(pgha_exporter_build_info, cluster)', multi=True, include_all=True, all_value='.*'),
                 var_query('job', 'Job', 'label_values(pgha_exporter_build_info, job)', multi=True, include_all=True, all_value='.*')]
    links = [{'title': 'Cluster overview', 'type': 'dashboards', 'tags': ['pgha'], 'asDropdown': False,
              'includeVars': False, 'keepTime': True}]
    return dashboard('pgha-fleet', 'PostgreSQL HA clusters: fleet',
                     'Every pgha cluster on one screen: primary, sync standby, lag, quorum, failing resources, last promotion and failure. Reads the recording rules of alerts/ (load them).',
                     d.panels, variables, links)


for name, fn in (('pgha-cluster-overview', overview), ('pgha-node-detail', node_detail), ('pgha-fleet', fleet)):
    with open(os.path.join(ROOT, 'dashboards', name + '.json'), 'w') as f:
        json.dump(fn(), f, indent=2)
        f.write('\n')
