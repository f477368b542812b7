import { isAbsent, join, type NodeCollector } from './collector.ts'
import { counted, NFS_V2_PROCEDURES, NFS_V3_PROCEDURES, rpcLines } from './nfs.ts'

/**
 * The NFSv4 operations node_exporter prints, by their place on the proc4ops line (after its count),
 * as procfs's V4Ops reads them; PutPubFH, PutRootFH and the unused op 0-2 it does not print.
 */
const V4_OPERATIONS: readonly (readonly [method: string, index: number])[] = [
  ['Access', 4],
  ['Close', 5],
  ['Commit', 6],
  ['Create', 7],
  ['DelegPurge', 8],
  ['DelegReturn', 9],
  ['GetAttr', 10],
  ['GetFH', 11],
  ['Link', 12],
  ['Lock', 13],
  ['Lockt', 14],
  ['Locku', 15],
  ['Lookup', 16],
  ['LookupRoot', 17],
  ['Nverify', 18],
  ['Open', 19],
  ['OpenAttr', 20],
  ['OpenConfirm', 21],
  ['OpenDgrd', 22],
  ['PutFH', 23],
  ['Read', 26],
  ['ReadDir', 27],
  ['ReadLink', 28],
  ['Remove', 29],
  ['Rename', 30],
  ['Renew', 31],
  ['RestoreFH', 32],
  ['SaveFH', 33],
  ['SecInfo', 34],
  ['SetAttr', 35],
  ['SetClientID', 36],
  ['SetClientIDConfirm', 37],
  ['Verify', 38],
  ['Write', 39],
  // A 39-operation line has no RELEASE_LOCKOWNER: 0, as procfs leaves it.
  ['RelLockOwner', 40],
]
/** The operations of NFS 4.0; later minor versions add more, which node_exporter does not print. */
const V4_OPERATIONS_LEAST = 39

/**
 * The NFS server's RPC statistics, /proc/net/rpc/nfsd, as node_exporter's nfsd collector prints
 * them (procedures without Null; the proc4 line's Null and Compound are not printed).
 */
export const nfsd: NodeCollector = {
  name: 'nfsd',
  description: 'NFS server RPC statistics (/proc/net/rpc/nfsd)',
  defaultEnabled: true,
  open: (ctx) => {
    const path = join(ctx.paths.procfs, 'net/rpc/nfsd')
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

        const rc = line('rc', (v) => v.length === 3)
        if (rc) {
          emit('node_nfsd_reply_cache_hits_total', {}, rc[0] ?? 0)
          emit('node_nfsd_reply_cache_misses_total', {}, rc[1] ?? 0)
          emit('node_nfsd_reply_cache_nocache_total', {}, rc[2] ?? 0)
        }
        // The other file handle counters are no longer counted by the kernel.
        const fh = line('fh', (v) => v.length === 5)
        if (fh) emit('node_nfsd_file_handles_stale_total', {}, fh[0] ?? 0)
        const io = line('io', (v) => v.length === 2)
        if (io) {
          emit('node_nfsd_disk_bytes_read_total', {}, io[0] ?? 0)
          emit('node_nfsd_disk_bytes_written_total', {}, io[1] ?? 0)
        }
        // `th <threads> <full count> <10 fractions>`: only the two counts are numbers procfs reads.
        const th = line('th', (v) => v.length === 2, 2)
        if (th) emit('node_nfsd_server_threads', {}, th[0] ?? 0)
        const ra = line('ra', (v) => v.length === 12)
        if (ra) {
          emit('node_nfsd_read_ahead_cache_size_blocks', {}, ra[0] ?? 0)
          emit('node_nfsd_read_ahead_cache_not_found_total', {}, ra[11] ?? 0)
        }
        const net = line('net', (v) => v.length === 4)
        if (net) {
          emit('node_nfsd_packets_total', { proto: 'udp' }, net[1] ?? 0)
          emit('node_nfsd_packets_total', { proto: 'tcp' }, net[2] ?? 0)
          emit('node_nfsd_connections_total', {}, net[3] ?? 0)
        }
        const rpc = line('rpc', (v) => v.length === 5)
        if (rpc) {
          emit('node_nfsd_server_rpcs_total', {}, rpc[0] ?? 0)
          emit('node_nfsd_rpc_errors_total', { error: 'fmt' }, rpc[2] ?? 0)
          emit('node_nfsd_rpc_errors_total', { error: 'auth' }, rpc[3] ?? 0)
          emit('node_nfsd_rpc_errors_total', { error: 'cInt' }, rpc[4] ?? 0)
        }

        const procedures = [
          ['2', line('proc2', counted(NFS_V2_PROCEDURES.length)), NFS_V2_PROCEDURES],
          ['3', line('proc3', counted(NFS_V3_PROCEDURES.length)), NFS_V3_PROCEDURES],
        ] as const
        for (const [proto, values, methods] of procedures) {
          if (!values) continue
          // Null (the first) is left out on the server side.
          methods.forEach((method, i) => {
            if (i > 0) emit('node_nfsd_requests_total', { method, proto }, values[i + 1] ?? 0)
          })
        }
        const ops = line('proc4ops', counted(V4_OPERATIONS_LEAST))
        if (ops) {
          for (const [method, index] of V4_OPERATIONS)
            emit('node_nfsd_requests_total', { method, proto: '4' }, ops[index] ?? 0)
        }
        // A line of newer kernels, printed by node_exporter as one more NFSv4 operation.
        const wdeleg = line('wdeleg_getattr', (v) => v.length === 1)
        if (wdeleg) emit('node_nfsd_requests_total', { method: 'WdelegGetattr', proto: '4' }, wdeleg[0] ?? 0)
      },
    }
  },
}
