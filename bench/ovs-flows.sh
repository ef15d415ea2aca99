#!/bin/sh
# 200,000-flow benchmark: install the flows into a real OVS bridge, time `ovs-ofctl dump-flows`
# printing them, then time netdiag parsing that very output. Input lands in bench/data/ (gitignored).
# Usage: npx tsc -p tsconfig.json && sh bench/ovs-flows.sh [N]
set -eu
N=${1:-200000}
cd "$(dirname "$0")/.."
D=bench/data; mkdir -p $D
T=$(mktemp -d /tmp/nd-ovs-bench-XXXXXX); NS=nd-ovsbench-$$
export OVS_RUNDIR=$T OVS_DBDIR=$T OVS_LOGDIR=$T OVS_SYSCONFDIR=$T
cleanup() { for p in ovs-vswitchd ovsdb-server; do [ -f $T/$p.pid ] && kill "$(cat $T/$p.pid)" 2>/dev/null || true; done; sleep 0.3; ip netns del $NS 2>/dev/null || true; rm -rf $T; }
trap cleanup EXIT
ovsdb-tool create $T/conf.db /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server $T/conf.db --remote=punix:$T/db.sock --pidfile=$T/ovsdb-server.pid --detach --no-chdir --log-file=$T/ovsdb-server.log
ovs-vsctl --no-wait init
ip netns add $NS
ip netns exec $NS ovs-vswitchd unix:$T/db.sock --pidfile=$T/ovs-vswitchd.pid --detach --no-chdir --log-file=$T/ovs-vswitchd.log
ovs-vsctl add-br OVSTunnel2046 -- set Bridge OVSTunnel2046 datapath_type=netdev other_config:gre_key=2046
# A CloudStack-like mix: per-VM IP rules, MAC rules, drops, ACL-like tables, resubmits.
node -e "
const n=$N, out=[];
for (let i=0;i<n;i++){const a=(i>>16)&255,b=(i>>8)&255,c=i&255, t=i%6;
 if(t===0) out.push('table=0,priority=300,ip,nw_dst=10.'+a+'.'+b+'.'+c+',actions=output:'+(1+i%40));
 else if(t===1) out.push('table=0,priority=200,dl_dst=02:00:'+(a).toString(16).padStart(2,'0')+':'+b.toString(16).padStart(2,'0')+':'+c.toString(16).padStart(2,'0')+':01,actions=mod_vlan_vid:'+(1+i%4000)+',NORMAL');
 else if(t===2) out.push('table=3,priority='+(1001+i%500)+',tcp,nw_src=10.'+a+'.'+b+'.0/24,tp_dst='+(1+i%65000)+',actions=drop');
 else if(t===3) out.push('table=1,priority=100,reg0=0x'+(i).toString(16)+',ip,actions=resubmit(,2)');
 else if(t===4) out.push('cookie=0x'+i.toString(16)+',table=2,priority=50,udp,nw_dst=172.16.'+b+'.'+c+',tp_dst='+(1+i%65000)+',actions=set_field:0x'+(i%4096).toString(16)+'->tun_id,output:1');
 else out.push('table=4,priority=10,tun_id=0x'+i.toString(16)+',actions=load:0x1->NXM_NX_REG1[],resubmit(,5)');}
require('fs').writeFileSync('$D/ovs-flows-$N.add', out.join('\n')+'\n');"
ovs-ofctl add-flows OVSTunnel2046 $D/ovs-flows-$N.add
echo "ovs-ofctl dump-flows (print $N flows): elapsed_s peak_rss_kb"
/usr/bin/time -o $T/t-ofctl -f '%e %M' sh -c "{ echo '# command: ovs-ofctl dump-flows OVSTunnel2046'; ovs-ofctl dump-flows OVSTunnel2046; } > $D/dump-flows-$N.txt"
cat $T/t-ofctl
echo "netdiag parse (dumpFlowsFile.read, the diagnose path) + flow analyzers: elapsed_s peak_rss_kb"
/usr/bin/time -o $T/t-nd -f '%e %M' node dist/bench/ovs-parse.js $D/dump-flows-$N.txt
cat $T/t-nd
ls -l $D/dump-flows-$N.txt
awk -v a="$(cut -d' ' -f1 $T/t-ofctl)" -v b="$(cut -d' ' -f1 $T/t-nd)" -v m="$(cut -d' ' -f2 $T/t-nd)" \
  'BEGIN { printf "ratio netdiag/ovs-ofctl: %.1fx  netdiag peak RSS: %.0f MiB\n", b / a, m / 1024 }'
