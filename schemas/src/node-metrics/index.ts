import type { MetricFamilyInfo } from '../metric-model.ts'
import { ARP } from './arp.ts'
import { BCACHE } from './bcache.ts'
import { BONDING } from './bonding.ts'
import { BTRFS } from './btrfs.ts'
import { CONNTRACK } from './conntrack.ts'
import { CPU_INFO } from './cpu_info.ts'
import { CPUFREQ } from './cpufreq.ts'
import { DISKINFO } from './diskinfo.ts'
import { DMI } from './dmi.ts'
import { EDAC } from './edac.ts'
import { ENTROPY } from './entropy.ts'
import { FIBRECHANNEL } from './fibrechannel.ts'
import { FILEFD } from './filefd.ts'
import { HWMON } from './hwmon.ts'
import { INFINIBAND } from './infiniband.ts'
import { INTERRUPTS } from './interrupts.ts'
import { IPVS } from './ipvs.ts'
import { MDADM } from './mdadm.ts'
import { NETCLASS } from './netclass.ts'
import { NETSTAT } from './netstat.ts'
import { NFS } from './nfs.ts'
import { NFSD } from './nfsd.ts'
import { NVME } from './nvme.ts'
import { OS } from './os.ts'
import { POWERSUPPLYCLASS } from './powersupplyclass.ts'
import { PROCESSES } from './processes.ts'
import { RAPL } from './rapl.ts'
import { SCHEDSTAT } from './schedstat.ts'
import { SELINUX } from './selinux.ts'
import { SOCKSTAT } from './sockstat.ts'
import { SOFTNET } from './softnet.ts'
import { TAPESTATS } from './tapestats.ts'
import { THERMAL_ZONE } from './thermal_zone.ts'
import { TIME } from './time.ts'
import { UDP_QUEUES } from './udp_queues.ts'
import { UNAME } from './uname.ts'
import { WATCHDOG } from './watchdog.ts'
import { XFS } from './xfs.ts'
import { ZFS } from './zfs.ts'

/**
 * HELP and TYPE of every metric the agent's node_exporter collectors emit (agent/src/collectors/node/),
 * one module per collector, with node_exporter's own text: the agent prints them in its
 * `--format prometheus` and types its `metrics` records from them, and the query API answers
 * /api/v1/metadata from them. The typed families' names are in ../node-exporter.ts.
 */
export interface MetricCatalogue {
  /** The collector, as the agent names it. */
  readonly collector: string
  /**
   * Inputs that change slowly (dmi, os, hwmon) are read on this interval at least, in ms. Declared
   * here, not in the agent, because a control request is validated against it by the query API too
   * (schemas/src/schedulable.ts).
   */
  readonly minDefaultIntervalMs?: number
  /** Names fixed in advance. */
  readonly metrics: readonly MetricFamilyInfo[]
  /** Names built from the input (`node_netstat_<Protocol>_<Field>`): HELP and TYPE by rule. */
  readonly dynamic?: (name: string) => MetricFamilyInfo | undefined
}

/** Every collector's catalogue; add a collector's module here (one line, kept sorted). */
const CATALOGUES: readonly MetricCatalogue[] = [
  // catalogues: one per line, sorted
  ARP,
  BCACHE,
  BONDING,
  BTRFS,
  CONNTRACK,
  CPU_INFO,
  CPUFREQ,
  DISKINFO,
  DMI,
  EDAC,
  ENTROPY,
  FIBRECHANNEL,
  FILEFD,
  HWMON,
  INFINIBAND,
  INTERRUPTS,
  IPVS,
  MDADM,
  NETCLASS,
  NETSTAT,
  NFS,
  NFSD,
  NVME,
  OS,
  POWERSUPPLYCLASS,
  PROCESSES,
  RAPL,
  SCHEDSTAT,
  SELINUX,
  SOCKSTAT,
  SOFTNET,
  TAPESTATS,
  THERMAL_ZONE,
  TIME,
  UDP_QUEUES,
  UNAME,
  WATCHDOG,
  XFS,
  ZFS,
]

const BY_NAME = new Map<string, MetricFamilyInfo>()
const COLLECTOR_BY_NAME = new Map<string, string>()
for (const c of CATALOGUES) {
  for (const m of c.metrics) {
    if (BY_NAME.has(m.name)) throw new Error(`${m.name} is declared by two collectors`)
    BY_NAME.set(m.name, m)
    COLLECTOR_BY_NAME.set(m.name, c.collector)
  }
}

/** HELP and TYPE of a collector's metric, or undefined for a name no collector declares. */
export function nodeMetricInfo(name: string): MetricFamilyInfo | undefined {
  return BY_NAME.get(name) ?? findDynamic(name)?.info
}

/** The collector that declares a metric name, if any. */
export function collectorOfMetric(name: string): string | undefined {
  return COLLECTOR_BY_NAME.get(name) ?? findDynamic(name)?.collector
}

export function metricCatalogues(): readonly MetricCatalogue[] {
  return CATALOGUES
}

function findDynamic(name: string): { info: MetricFamilyInfo; collector: string } | undefined {
  for (const c of CATALOGUES) {
    const info = c.dynamic?.(name)
    if (info) return { info, collector: c.collector }
  }
  return undefined
}
