import type {
  AgentSample,
  CpuSample,
  DiskSample,
  FilesystemSample,
  LoadSample,
  MemorySample,
  MetricsSample,
  NetworkSample,
  PressureSample,
  VmstatSample,
} from './records.ts'

/** The metric families an envelope can carry, and the Avro record name of each. */
export const FAMILY_RECORD = {
  cpu: 'procstream.v1.CpuSample',
  memory: 'procstream.v1.MemorySample',
  network: 'procstream.v1.NetworkSample',
  disk: 'procstream.v1.DiskSample',
  load: 'procstream.v1.LoadSample',
  pressure: 'procstream.v1.PressureSample',
  vmstat: 'procstream.v1.VmstatSample',
  filesystem: 'procstream.v1.FilesystemSample',
  agent: 'procstream.v1.AgentSample',
  metrics: 'procstream.v1.MetricsSample',
} as const

export type Family = keyof typeof FAMILY_RECORD
export const FAMILIES = Object.keys(FAMILY_RECORD) as Family[]

/**
 * The typed families read from /proc (and statfs): `agent` is the agent's own health instead, and
 * `metrics` carries every other collector, each under its own collector name.
 */
export type ProcFamily = Exclude<Family, 'agent' | 'metrics'>
export const PROC_FAMILIES = FAMILIES.filter((f): f is ProcFamily => f !== 'agent' && f !== 'metrics')

export interface FamilyRecords {
  cpu: CpuSample
  memory: MemorySample
  network: NetworkSample
  disk: DiskSample
  load: LoadSample
  pressure: PressureSample
  vmstat: VmstatSample
  filesystem: FilesystemSample
  agent: AgentSample
  metrics: MetricsSample
}

/** A family's record tagged with its family, so code can switch on it with full typing. */
export type Sample = { [F in Family]: { family: F; data: FamilyRecords[F] } }[Family]

/** The envelope as the rest of the code sees it: the Avro union unwrapped into `sample`. */
export interface Envelope {
  tenant: string
  host_id: string
  hostname: string
  agent_id: string
  seq: number
  ts_us: number
  interval_ms: number
  sample: Sample
}

export function isFamily(name: string): name is Family {
  return Object.hasOwn(FAMILY_RECORD, name)
}

/**
 * What a sample is called where one name per sample is wanted (the sample log, the agent's
 * schedule, dead letters): the family, or for a `metrics` record the collector it came from.
 */
export function sampleName(sample: Sample): string {
  return sample.family === 'metrics' ? sample.data.collector : sample.family
}
