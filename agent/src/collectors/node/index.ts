import type { NodeCollector } from './collector.ts'
import { arp } from './arp.ts'
import { bcache } from './bcache.ts'
import { bonding } from './bonding.ts'
import { btrfs } from './btrfs.ts'
import { conntrack } from './conntrack.ts'
import { cpuInfo } from './cpu_info.ts'
import { cpufreq } from './cpufreq.ts'
import { diskinfo } from './diskinfo.ts'
import { dmi } from './dmi.ts'
import { edac } from './edac.ts'
import { entropy } from './entropy.ts'
import { fibrechannel } from './fibrechannel.ts'
import { filefd } from './filefd.ts'
import { hwmon } from './hwmon.ts'
import { infiniband } from './infiniband.ts'
import { interrupts } from './interrupts.ts'
import { ipvs } from './ipvs.ts'
import { mdadm } from './mdadm.ts'
import { netclass } from './netclass.ts'
import { netstat } from './netstat.ts'
import { nfs } from './nfs.ts'
import { nfsd } from './nfsd.ts'
import { nvme } from './nvme.ts'
import { os } from './os.ts'
import { powersupplyclass } from './powersupplyclass.ts'
import { processes } from './processes.ts'
import { rapl } from './rapl.ts'
import { schedstat } from './schedstat.ts'
import { selinux } from './selinux.ts'
import { sockstat } from './sockstat.ts'
import { softnet } from './softnet.ts'
import { tapestats } from './tapestats.ts'
import { thermalZone } from './thermal_zone.ts'
import { time } from './time.ts'
import { udpQueues } from './udp_queues.ts'
import { uname } from './uname.ts'
import { watchdog } from './watchdog.ts'
import { xfs } from './xfs.ts'
import { zfs } from './zfs.ts'

/** Every node_exporter collector the agent has beyond the typed families; add one here (one line, kept sorted). */
export const NODE_COLLECTORS: readonly NodeCollector[] = [
  // collectors: one per line, sorted
  arp,
  bcache,
  bonding,
  btrfs,
  conntrack,
  cpuInfo,
  cpufreq,
  diskinfo,
  dmi,
  edac,
  entropy,
  fibrechannel,
  filefd,
  hwmon,
  infiniband,
  interrupts,
  ipvs,
  mdadm,
  netclass,
  netstat,
  nfs,
  nfsd,
  nvme,
  os,
  powersupplyclass,
  processes,
  rapl,
  schedstat,
  selinux,
  sockstat,
  softnet,
  tapestats,
  thermalZone,
  time,
  udpQueues,
  uname,
  watchdog,
  xfs,
  zfs,
]
