import { excerpt, parseInteger, tokenize } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

const PID = /^\d+$/
/** num_threads is field 20 of /proc/<pid>/stat, the 18th after the command name. */
const NUM_THREADS_AFTER_COMM = 17

interface TaskStat {
  state: string
  threads: number
}

/** A task that exited between the listing and the read: ENOENT on open, ESRCH on a kept-open file. */
function vanished(err: unknown): boolean {
  return isAbsent(err) || (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ESRCH')
}

/**
 * Process and thread counts by state from /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat, and the
 * kernel's limits (/proc/sys/kernel/pid_max, threads-max), as node_exporter's processes collector.
 * Off by default in node_exporter; on here because Node Exporter Full charts it, and every 10 s at
 * most because it reads a file per process and thread, the costliest collection the agent makes.
 */
export const processes: NodeCollector = {
  name: 'processes',
  description: 'processes and threads by state, and the PID and thread limits (/proc/<pid>/stat)',
  defaultEnabled: true,
  open: (ctx) => {
    const procfs = ctx.paths.procfs

    /** State and thread count of one task, undefined when it is gone or its stat does not parse. */
    const readTask = (path: string): TaskStat | undefined => {
      let text: string
      try {
        text = ctx.fs.readText(path)
      } catch (err) {
        if (!vanished(err)) throw err
        // A file kept open across collections fails with ESRCH once its task exits, even if the PID
        // was reused since: the failed read dropped it, so opening the path again finds the new task.
        if (isAbsent(err)) return undefined
        try {
          text = ctx.fs.readText(path)
        } catch (again) {
          if (vanished(again)) return undefined
          throw again
        }
      }
      return parseTaskStat(text, path, ctx)
    }

    /** A kernel limit; a kernel without the file just lacks that series. */
    const readLimit = (name: string): number | undefined => {
      const path = join(procfs, 'sys/kernel', name)
      let text: string
      try {
        text = ctx.fs.readText(path)
      } catch (err) {
        if (isAbsent(err)) return undefined
        throw err
      }
      const value = parseInteger(text.trim())
      if (value !== undefined && value >= 0) return value
      ctx.problem(`${path}: not a count: ${excerpt(text.trim())}`)
      return undefined
    }

    return {
      collect: (emit) => {
        let entries: string[]
        try {
          entries = ctx.fs.readDir(procfs)
        } catch (err) {
          if (isAbsent(err)) return 'absent'
          throw err
        }
        let pids = 0
        let threads = 0
        const states = new Map<string, number>()
        const threadStates = new Map<string, number>()
        const count = (m: Map<string, number>, state: string): void => {
          m.set(state, (m.get(state) ?? 0) + 1)
        }
        for (const pid of entries) {
          if (!PID.test(pid)) continue
          const stat = readTask(join(procfs, pid, 'stat'))
          if (stat === undefined) continue
          pids++
          threads += stat.threads
          count(states, stat.state)
          let tids: string[]
          try {
            tids = ctx.fs.readDir(join(procfs, pid, 'task'))
          } catch (err) {
            if (vanished(err)) continue
            throw err
          }
          for (const tid of tids) {
            if (!PID.test(tid)) continue
            // The main thread's task entry is the process itself, already read.
            const state = tid === pid ? stat.state : readTask(join(procfs, pid, 'task', tid, 'stat'))?.state
            if (state !== undefined) count(threadStates, state)
          }
        }
        emit('node_processes_threads', {}, threads)
        const maxThreads = readLimit('threads-max')
        if (maxThreads !== undefined) emit('node_processes_max_threads', {}, maxThreads)
        for (const [state, n] of states) emit('node_processes_state', { state }, n)
        for (const [thread_state, n] of threadStates)
          emit('node_processes_threads_state', { thread_state }, n)
        emit('node_processes_pids', {}, pids)
        const maxPids = readLimit('pid_max')
        if (maxPids !== undefined) emit('node_processes_max_processes', {}, maxPids)
      },
    }
  },
}

/**
 * `pid (comm) state ppid …`: comm may hold spaces and parentheses, so the fields start after the
 * last `)`, as procfs reads them.
 */
function parseTaskStat(text: string, path: string, ctx: CollectorContext): TaskStat | undefined {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) {
    ctx.problem(`${path}: no (command) in ${excerpt(text.trim())}`)
    return undefined
  }
  const fields = tokenize(text, close + 1)
  const state = fields[0]
  const threads = parseInteger(fields[NUM_THREADS_AFTER_COMM] ?? '')
  if (state === undefined || threads === undefined) {
    ctx.problem(`${path}: no state or thread count after the command: ${excerpt(text.trim())}`)
    return undefined
  }
  return { state, threads }
}
