#!/usr/bin/env node
// Writes dashboards/netdiag-overview.json, the NOC's Grafana dashboard, from the panel list below,
// with Grafana's own builders (@grafana/grafana-foundation-sdk, pinned to the Grafana 11.6 schema).
// Run `node dashboards/build.mjs` after changing it (an argument writes elsewhere); test/dashboards checks every query against the
// metrics netdiag exports and promtool's PromQL parser.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DS = { type: 'prometheus', uid: '${datasource}' };
const sel = (extra = '') => `instance=~"$instance"${extra}`;
const host = ', host=~"$host"';

/** One row of panels: [title, type, exprs [[expr, legend]], options]. Widths share the 24 columns. */
const rows = [
  ['Now: what is wrong', [
    ['Active findings', 'stat', [[`sum by (severity) (netdiag_finding_active{${sel(host)}})`, '{{severity}}']], { w: 6, unit: 'short', thresholds: [['green', null], ['orange', 1]], description: 'Findings netdiag holds active now, by severity. Open the status page (instance URL) for the details and evidence.' }],
    ['Active findings by kind and host', 'table', [[`sum by (kind, severity, host) (netdiag_finding_active{${sel(host)}}) > 0`, '']], { w: 12, instant: true, description: 'One row per active finding kind on a host. The alert rules page on these.' }],
    ['Collectors up', 'stat', [[`min by (collector) (netdiag_collector_up{${sel()}})`, '{{collector}}']], { w: 6, unit: 'short', thresholds: [['red', null], ['green', 1]], description: '1 when the collector\'s last poll succeeded. A 0 is a blind spot: nothing it watches is being checked.' }],
  ]],
  ['NVP controller (management-server logs and the NVP API)', [
    ['NVP API exceptions per second, by cause', 'timeseries', [[`sum by (host, cause) (rate(netdiag_nvp_api_exceptions_total{${sel(host)}}[$__rate_interval]))`, '{{host}} {{cause}}']], { w: 12, unit: 'ops', description: 'NiciraNvpApiException seen in the logs. auth = credentials refused; transport/server_error = controller down or failing; conflict/not_found = object-level rejections.' }],
    ['NVP command failures, by command', 'timeseries', [[`sum by (command) (increase(netdiag_nvp_command_failures_total{${sel(host)}}[$__rate_interval]))`, '{{command}}']], { w: 6, unit: 'short', description: 'CreateLogicalSwitchCommand, DeleteLogicalSwitchPortCommand, ... answered with a failure. A failed DeleteLogicalSwitchCommand leaks a switch.' }],
    ['Control cluster stable', 'stat', [[`min by (controller) (netdiag_nvp_control_cluster_stable{${sel()}})`, '{{controller}}']], { w: 3, thresholds: [['red', null], ['green', 1]], description: 'From the NVP API control-cluster status: 1 stable, 0 not.' }],
    ['Stale (leaked) objects', 'stat', [[`max(netdiag_stale_logical_switches{${sel()}})`, 'logical switches'], [`sum(netdiag_stale_ovs_bridges{${sel(host)}})`, 'OVS bridges/ports']], { w: 3, thresholds: [['green', null], ['orange', 1]], description: 'NVP logical switches and OVSTunnel bridges CloudStack no longer references (after the grace period).' }],
  ]],
  ['Open vSwitch flows and tunnels', [
    ['Unexpected drops, packets per second', 'timeseries', [[`sum by (host, bridge) (netdiag_ovs_drop_packets_per_second{${sel(host)}, reason="unexpected"})`, '{{host}} {{bridge}}']], { w: 8, unit: 'pps', description: 'Traffic matched by drop flows CloudStack does not install on purpose: the controller never pushed a valid rule.' }],
    ['Lost to invalid outputs, packets per second', 'timeseries', [[`sum by (host, bridge, reason) (netdiag_ovs_invalid_output_packets_per_second{${sel(host)}})`, '{{host}} {{bridge}} {{reason}}']], { w: 8, unit: 'pps', description: 'Traffic of flows that output to port 0, a port not on the bridge, or an interface OVS could not add.' }],
    ['Tunnel port problems', 'table', [[`sum by (host, bridge, reason) (netdiag_ovs_tunnel_problems{${sel(host)}}) > 0`, '']], { w: 8, instant: true, description: 'Tunnel ports with errors, key mismatches or remote_ip disagreements.' }],
    ['Flow entries per bridge', 'timeseries', [[`sum by (host, bridge) (netdiag_ovs_flow_entries{${sel(host)}})`, '{{host}} {{bridge}}']], { w: 12, unit: 'short', description: 'A sudden fall means flows were flushed; a bridge at zero forwards nothing.' }],
    ['OVS poll failures', 'timeseries', [[`sum by (host, bridge, command) (increase(netdiag_ovs_poll_failures_total{${sel(host)}}[$__rate_interval]))`, '{{host}} {{bridge}} {{command}}']], { w: 12, unit: 'short', description: 'ovs-vsctl/ovs-ofctl commands that failed: those bridges were not checked.' }],
  ]],
  ['NIC counters', [
    ['CRC/FCS errors per second', 'timeseries', [[`sum by (host, interface) (rate(netdiag_nic_errors_total{${sel(host)}, counter="crc_errors"}[$__rate_interval]))`, '{{host}} {{interface}}']], { w: 12, unit: 'ops', description: 'Rising CRC errors on a physical NIC mean a bad cable, optic or port.' }],
    ['Other receive errors per second', 'timeseries', [[`sum by (host, interface, counter) (rate(netdiag_nic_errors_total{${sel(host)}, counter!="crc_errors"}[$__rate_interval])) > 0`, '{{host}} {{interface}} {{counter}}']], { w: 6, unit: 'ops' }],
    ['Carrier changes', 'timeseries', [[`sum by (host, interface) (increase(netdiag_nic_carrier_changes_total{${sel(host)}}[$__rate_interval])) > 0`, '{{host}} {{interface}}']], { w: 6, unit: 'short', description: 'Link flaps.' }],
  ]],
  ['MTU and encapsulation', [
    ['Underlay fragments of tunnel packets', 'timeseries', [[`sum by (host, kind) (netdiag_mtu_tunnel_fragments{${sel(host)}})`, '{{host}} {{kind}}']], { w: 8, unit: 'short', description: 'Outer IP fragments of GRE/VXLAN/STT/Geneve packets in the current capture window: the underlay MTU is too small for the encapsulation.' }],
    ['ICMP frag-needed / Packet Too Big', 'timeseries', [[`sum by (host, kind) (netdiag_mtu_tunnel_too_big_messages{${sel(host)}})`, '{{host}} {{kind}}']], { w: 8, unit: 'short' }],
    ['MTU shortfall, bytes', 'table', [[`max by (host, interface, kind) (netdiag_mtu_mismatch_bytes{${sel(host)}}) > 0`, '']], { w: 8, instant: true, unit: 'bytes', description: 'How many bytes an interface\'s MTU is short of what its encapsulation needs.' }],
  ]],
  ['netdiag itself (blind spots)', [
    ['Seconds since each collector last succeeded', 'timeseries', [[`time() - max by (collector) (netdiag_collector_last_success_timestamp_seconds{${sel()}})`, '{{collector}}']], { w: 8, unit: 's' }],
    ['Log bytes skipped and parse errors', 'timeseries', [[`sum by (host, type) (rate(netdiag_log_skipped_bytes_total{${sel(host)}}[$__rate_interval]))`, 'skipped {{host}} {{type}}'], [`sum by (host, log) (rate(netdiag_log_parse_errors_total{${sel(host)}}[$__rate_interval]))`, 'parse errors {{host}} {{log}}']], { w: 8, unit: 'Bps' }],
    ['Capture records truncated, unreadable inputs', 'timeseries', [[`sum by (host, interface) (rate(netdiag_pcap_truncated_records_total{${sel(host)}}[$__rate_interval]))`, 'truncated {{host}} {{interface}}'], [`sum by (reason) (increase(netdiag_inputs_unreadable_total{${sel()}}[$__rate_interval]))`, 'unreadable {{reason}}']], { w: 8, unit: 'short' }],
  ]],
];

const PANELS = { stat: stat.PanelBuilder, table: table.PanelBuilder, timeseries: timeseries.PanelBuilder };

const board = new dashboard.DashboardBuilder('netdiag — CloudStack SDN overview')
  .uid('netdiag-overview')
  .description('What netdiag finds across management servers and hypervisors: active findings, NVP API health, OVS drops and invalid outputs, NIC CRC errors, MTU, and netdiag\'s own blind spots.')
  .tags(['netdiag', 'cloudstack', 'sdn'])
  .editable()
  .tooltip(dashboard.DashboardCursorSync.Crosshair)
  .time({ from: 'now-6h', to: 'now' })
  .refresh('30s')
  .timezone('utc')
  .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
  .withVariable(
    new dashboard.QueryVariableBuilder('instance').label('netdiag instance').datasource(DS).query('label_values(netdiag_build_info, instance)')
      .includeAll(true).multi(true).allValue('.*').refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.AlphabeticalAsc),
  )
  .withVariable(
    new dashboard.QueryVariableBuilder('host').label('host').datasource(DS).query('label_values(netdiag_finding_active{instance=~"$instance"}, host)')
      .includeAll(true).multi(true).allValue('.*').refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.AlphabeticalAsc),
  );

let id = 1;
let y = 0;
for (const [title, items] of rows) {
  board.withRow(new dashboard.RowBuilder(title).id(id++).gridPos({ h: 1, w: 24, x: 0, y }));
  y += 1;
  let x = 0;
  for (const [ptitle, type, exprs, o] of items) {
    const h = type === 'stat' ? 5 : 8;
    if (x + o.w > 24) {
      x = 0;
      y += h;
    }
    const p = new PANELS[type]().id(id++).title(ptitle).datasource(DS).gridPos({ h, w: o.w, x, y });
    if (o.description) p.description(o.description);
    exprs.forEach(([expr, legend], i) => {
      const q = new prometheus.DataqueryBuilder().refId(String.fromCharCode(65 + i)).datasource(DS).expr(expr).legendFormat(legend || '__auto');
      if (o.instant || type === 'stat') q.instant();
      else q.range();
      if (type === 'table') q.format(prometheus.PromQueryFormat.Table);
      p.withTarget(q);
    });
    if (o.unit) p.unit(o.unit);
    if (o.thresholds) p.thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(o.thresholds.map(([color, value]) => ({ color, value }))));
    if (type === 'stat') p.reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false)).colorMode(common.BigValueColorMode.Background);
    if (type === 'timeseries') {
      p.legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom).showLegend(true));
      p.tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
    }
    if (type === 'table') p.showHeader(true).withTransformation({ id: 'organize', options: { excludeByName: { Time: true } } });
    board.withPanel(p);
    x += o.w;
  }
  y += 8;
}

const out = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'netdiag-overview.json');
const built = board.build();
writeFileSync(out, `${JSON.stringify(built, null, 2)}\n`);
console.log(`wrote ${out}: ${built.panels.length} panels`);
