import { excerpt } from '../parse-util.ts'
import { isAbsent, join, type CollectorContext, type NodeCollector } from './collector.ts'

/** go-selinux's modes. */
const ENFORCING = 1
const PERMISSIVE = 0
const DISABLED = -1

const INTEGER = /^[+-]?\d+$/

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/**
 * SELinux's state as node_exporter's selinux collector reads it through go-selinux: enabled when
 * selinuxfs is mounted (its `enforce` file is there) and a policy is loaded (this process's context
 * is not the bare `kernel` of a system without one); then the mode of /etc/selinux/config and the
 * current mode from `enforce`. A host without SELinux sends node_selinux_enabled 0 alone, as
 * node_exporter does, rather than nothing.
 */
export const selinux: NodeCollector = {
  name: 'selinux',
  description: 'SELinux state: enabled, configured and current mode (/sys/fs/selinux, /etc/selinux/config)',
  defaultEnabled: true,
  open: (ctx) => {
    const enforcePath = join(ctx.paths.sysfs, 'fs/selinux/enforce')
    const contextPath = join(ctx.paths.procfs, 'self/attr/current')
    const configPath = join(ctx.paths.rootfs === '' ? '/' : ctx.paths.rootfs, 'etc/selinux/config')
    return {
      collect: (emit): undefined => {
        if (!ctx.fs.exists(enforcePath) || ownContext(ctx, contextPath) === 'kernel') {
          emit('node_selinux_enabled', {}, 0)
          return
        }
        emit('node_selinux_enabled', {}, 1)
        emit('node_selinux_config_mode', {}, configuredMode(ctx, configPath))
        emit('node_selinux_current_mode', {}, currentMode(ctx, enforcePath))
      },
    }
  },
}

/** The agent's own security context; '' when it cannot be read, which go-selinux takes as "enabled". */
function ownContext(ctx: CollectorContext, path: string): string {
  try {
    const text = ctx.fs.readText(path)
    return text.endsWith('\0') ? text.slice(0, -1) : text
  } catch {
    return ''
  }
}

/**
 * The first `SELINUX=` line of the config (blank lines and `#`/`;` comments skipped, quotes
 * trimmed), as go-selinux's readConfig; anything but enforcing or permissive, or no file, is
 * disabled (-1).
 */
function configuredMode(ctx: CollectorContext, path: string): number {
  let text: string
  try {
    text = ctx.fs.readText(path)
  } catch (err) {
    if (!isAbsent(err)) ctx.problem(`${path}: ${message(err)}`)
    return DISABLED
  }
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue
    const eq = line.indexOf('=')
    if (eq < 0 || line.slice(0, eq) !== 'SELINUX') continue
    const value = line.slice(eq + 1).replace(/^"+|"+$/g, '')
    if (value === 'enforcing') return ENFORCING
    if (value === 'permissive') return PERMISSIVE
    if (value !== 'disabled')
      ctx.problem(`${path}: SELINUX is not enforcing, permissive or disabled: ${excerpt(value)}`)
    return DISABLED
  }
  return DISABLED
}

/** The number in selinuxfs' `enforce` (1 enforcing, 0 permissive); -1 when it cannot be read, as go-selinux. */
function currentMode(ctx: CollectorContext, path: string): number {
  let text: string
  try {
    text = ctx.fs.readText(path).trim()
  } catch (err) {
    // Unmounted since the check above: nothing wrong with the host.
    if (!isAbsent(err)) ctx.problem(`${path}: ${message(err)}`)
    return DISABLED
  }
  if (INTEGER.test(text)) return Number(text)
  ctx.problem(`${path}: not an integer: ${excerpt(text)}`)
  return DISABLED
}
