import { excerpt, forEachLine, tokenize } from '../parse-util.ts'
import { isAbsent, join, type NodeCollector } from './collector.ts'

/** procfs's V2Stats fields, in the order of a proc2 line after its count. */
export const NFS_V2_PROCEDURES = [
  'Null',
  'GetAttr',
  'SetAttr',
  'Root',
  'Lookup',
  'ReadLink',
  'Read',
  'WrCache',
  'Write',
  'Create',
  'Remove',
  'Rename',
  'Link',
  'SymLink',
  'MkDir',
  'RmDir',
  'ReadDir',
  'FsStat',
] as const

/** procfs's V3Stats fields, in the order of a proc3 line after its count. */
export const NFS_V3_PROCEDURES = [
  'Null',
  'GetAttr',
  'SetAttr',
  'Lookup',
  'Access',
  'ReadLink',
  'Read',
  'Write',
  'Create',
  'MkDir',
  'SymLink',
  'MkNod',
  'Remove',
  'RmDir',
  'Rename',
  'Link',
  'ReadDir',
  'ReadDirPlus',
  'FsStat',
  'FsInfo',
  'PathConf',
  'Commit',
] as const

/**
 * procfs's ClientV4Stats fields, in the order of the client's proc4 line after its count. Older
 * kernels print fewer (the rest are 0), newer ones more (left out), as in procfs.
 */
const V4_CLIENT_PROCEDURES = [
  'Null',
  'Read',
  'Write',
  'Commit',
  'Open',
  'OpenConfirm',
  'OpenNoattr',
  'OpenDowngrade',
  'Close',
  'Setattr',
  'FsInfo',
  'Renew',
  'SetClientID',
  'SetClientIDConfirm',
  'Lock',
  'Lockt',
  'Locku',
  'Access',
  'Getattr',
  'Lookup',
  'LookupRoot',
  'Remove',
  'Rename',
  'Link',
  'Symlink',
  'Create',
  'Pathconf',
  'StatFs',
  'ReadLink',
  'ReadDir',
  'ServerCaps',
  'DelegReturn',
  'GetACL',
  'SetACL',
  'FsLocations',
  'ReleaseLockowner',
  'Secinfo',
  'FsidPresent',
  'ExchangeID',
  'CreateSession',
  'DestroySession',
  'Sequence',
  'GetLeaseTime',
  'ReclaimComplete',
  'GetDeviceInfo',
  'LayoutGet',
  'LayoutCommit',
  'LayoutReturn',
  'SecinfoNoName',
  'TestStateID',
  'FreeStateID',
  'GetDeviceList',
  'BindConnToSession',
  'DestroyClientID',
  'Seek',
  'Allocate',
  'DeAllocate',
  'LayoutStats',
  'Clone',
] as const

const UNSIGNED = /^\d+$/

/** A uint64 as Go's float64() rounds it: RPC and byte counters may pass 2^53, where parseInteger gives up. */
function parseUnsigned(token: string): number | undefined {
  return UNSIGNED.test(token) ? Number(token) : undefined
}

/** A procN line: its first number counts the rest, and at least `least` are there. */
export function counted(least: number): (values: readonly number[]) => boolean {
  return (values) => values[0] === values.length - 1 && values.length - 1 >= least
}

/** The numbers of one `<key> <n> <n> …` line. */
export type RpcLine = (
  key: string,
  valid: (values: readonly number[]) => boolean,
  /** Only the first this many tokens are numbers (nfsd's th line goes on with fractions). */
  take?: number,
) => readonly number[] | undefined

/**
 * The lines of /proc/net/rpc/nfs or nfsd by key. A line the kernel does not print gives no numbers,
 * which the callers read as zeros: procfs leaves such fields 0 and node_exporter prints them. A line
 * that does not parse, or has not the numbers procfs expects, is reported and gives undefined, so
 * its series are left out rather than reset to 0.
 */
export function rpcLines(text: string, path: string, problem: (message: string) => void): RpcLine {
  const lines = new Map<string, { start: number; end: number; tokens: string[] }>()
  forEachLine(text, (start, end) => {
    const [key, ...tokens] = tokenize(text, start, end)
    if (key !== undefined) lines.set(key, { start, end, tokens })
  })
  return (key, valid, take) => {
    const line = lines.get(key)
    if (!line) return []
    const numbers = line.tokens.slice(0, take).map(parseUnsigned)
    if (numbers.every((n) => n !== undefined) && valid(numbers)) return numbers
    problem(`${path}: unexpected ${key} line ${excerpt(text.slice(line.start, line.end))}`)
    return undefined
  }
}

/**
 * The NFS client's RPC statistics, /proc/net/rpc/nfs, as node_exporter's nfs collector prints them:
 * every procedure of NFS versions 2, 3 and 4, by its procfs field name.
 */
export const nfs: NodeCollector = {
  name: 'nfs',
  description: 'NFS client RPC statistics (/proc/net/rpc/nfs)',
  defaultEnabled: true,
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'net/rpc/nfs')
    return {
      collect: (emit) => {
        let text: string
        try {
          text = ctx.fs.readText(path)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        const line = rpcLines(text, path, (message) => {
          ctx.problem(message)
        })

        const net = line('net', (v) => v.length === 4)
        if (net) {
          emit('node_nfs_packets_total', { protocol: 'udp' }, net[1] ?? 0)
          emit('node_nfs_packets_total', { protocol: 'tcp' }, net[2] ?? 0)
          emit('node_nfs_connections_total', {}, net[3] ?? 0)
        }
        const rpc = line('rpc', (v) => v.length === 3)
        if (rpc) {
          emit('node_nfs_rpcs_total', {}, rpc[0] ?? 0)
          emit('node_nfs_rpc_retransmissions_total', {}, rpc[1] ?? 0)
          emit('node_nfs_rpc_authentication_refreshes_total', {}, rpc[2] ?? 0)
        }
        const procedures = [
          ['2', line('proc2', counted(NFS_V2_PROCEDURES.length)), NFS_V2_PROCEDURES],
          ['3', line('proc3', counted(NFS_V3_PROCEDURES.length)), NFS_V3_PROCEDURES],
          ['4', line('proc4', counted(0)), V4_CLIENT_PROCEDURES],
        ] as const
        for (const [proto, values, methods] of procedures) {
          if (!values) continue
          methods.forEach((method, i) => {
            emit('node_nfs_requests_total', { method, proto }, values[i + 1] ?? 0)
          })
        }
      },
    }
  },
}
