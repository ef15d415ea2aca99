#!/bin/sh
# Fragmentation analysis of a ~1 GiB capture: netdiag's full analysis (`netdiag diagnose FILE`)
# against `tcpdump -nr FILE 'ip[6:2] & 0x3fff != 0' | wc -l` on the same file, and tshark with the
# same filter on a 64 MiB slice (tshark dissects every layer: on 1 GiB it takes many minutes).
# Input is generated into bench/data/ (gitignored).
# Usage: npx tsc -p tsconfig.json && sh bench/pcap.sh [SIZE_MIB]
set -eu
MIB=${1:-1024}
cd "$(dirname "$0")/.."
D=bench/data; mkdir -p $D
BIG=$D/pcap-$MIB.pcap; SLICE=$D/pcap-64.pcap
[ -f $BIG ] || node dist/bench/pcap.js $BIG $MIB
[ -f $SLICE ] || node dist/bench/pcap.js $SLICE 64
T() { /usr/bin/time -f '%e %M' -o $D/time.out "$@"; cat $D/time.out; }
echo "file: $BIG ($(stat -c %s $BIG) bytes)"
echo "netdiag diagnose (s, peak KiB):";  T sh -c "node bin/netdiag.js diagnose --format json $BIG > $D/pcap-report.json" || true
node -e "const r=require('./$D/pcap-report.json'); const f=r.findings.filter(x=>x.kind==='mtu_fragmentation'); console.log('  findings', f.length, 'fragments', f.reduce((a,x)=>a+x.metrics.fragments,0))"
echo "tcpdump | wc -l (s, peak KiB):"; T sh -c "tcpdump -nr $BIG 'ip[6:2] & 0x3fff != 0' 2>/dev/null | wc -l > $D/tcpdump.count"; echo "  lines $(cat $D/tcpdump.count)"
echo "tcpdump --count (s, peak KiB):"; T sh -c "tcpdump -nr $BIG --count 'ip[6:2] & 0x3fff != 0' 2>/dev/null > $D/tcpdump2.count"; echo "  $(cat $D/tcpdump2.count)"
echo "slice: $SLICE"
echo "netdiag diagnose on slice:"; T sh -c "node bin/netdiag.js diagnose --format json $SLICE > /dev/null" || true
echo "tcpdump | wc -l on slice:"; T sh -c "tcpdump -nr $SLICE 'ip[6:2] & 0x3fff != 0' 2>/dev/null | wc -l > /dev/null"
echo "tshark on slice:"; T sh -c "tshark -n -r $SLICE -o ip.defragment:FALSE -Y 'ip.flags.mf == 1 || ip.frag_offset > 0' 2>/dev/null | wc -l > $D/tshark.count"; echo "  lines $(cat $D/tshark.count)"
