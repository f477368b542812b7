import { tokenize } from '../parse-util.ts'
import { isAbsent, join, type FileReader, type NodeCollector } from './collector.ts'

/** A clocksource device directory; node_exporter numbers them by their place in this sorted listing. */
const CLOCKSOURCE_DIR = /^clocksource[0-9]/
/** The leading std[offset][dst] of a POSIX TZ string: the rule a TZif file's footer gives for now. */
const POSIX_TZ = /^(<[^>]+>|[A-Za-z]{3,})([+-]?\d{1,2}(?::\d{1,2}){0,2})(<[^>]+>|[A-Za-z]{3,})?/

/**
 * The clock as node_exporter's time collector reports it: the time, the zone this process runs in
 * (its abbreviation and offset), and the kernel's available and current clocksources. node_exporter's
 * separate timex collector reads the kernel's NTP state through adjtimex(2), a system call Node
 * cannot make, so the agent has no timex collector.
 */
export const time: NodeCollector = {
  name: 'time',
  description: 'system time, time zone and clocksources (/sys/devices/system/clocksource)',
  defaultEnabled: true,
  open: (ctx) => {
    const base = join(ctx.paths.sysfs, 'devices/system/clocksource')
    let zone: ((now: Date) => string) | undefined
    return {
      collect: (emit): undefined => {
        const now = new Date()
        // Like Go's time.Local (and Node's own zone), the zone is loaded once per process.
        zone ??= localZone(ctx.fs)
        emit('node_time_seconds', {}, now.getTime() / 1000)
        emit('node_time_zone_offset_seconds', { time_zone: zone(now) }, offsetSeconds(now))

        let names: string[]
        try {
          names = ctx.fs.readDir(base).filter((name) => CLOCKSOURCE_DIR.test(name))
        } catch (err) {
          if (isAbsent(err)) return
          throw err
        }
        names.forEach((name, index) => {
          const dir = join(base, name)
          let available: string
          let current: string
          try {
            available = ctx.fs.readText(join(dir, 'available_clocksource'))
            current = ctx.fs.readText(join(dir, 'current_clocksource')).trim()
          } catch (err) {
            if (!isAbsent(err)) throw err
            ctx.problem(`${dir}: no available_clocksource or current_clocksource`)
            return
          }
          const device = String(index)
          for (const clocksource of tokenize(available)) {
            emit('node_time_clocksource_available_info', { device, clocksource }, 1)
          }
          emit('node_time_clocksource_current_info', { device, clocksource: current }, 1)
        })
      },
    }
  },
}

function offsetSeconds(now: Date): number {
  // getTimezoneOffset counts minutes west; `0 -` keeps UTC a plain 0 rather than -0.
  return 0 - now.getTimezoneOffset() * 60
}

/**
 * The zone abbreviation Go's now.Zone() gives ("UTC", "CET", "CEST"), which no Node API offers: Go
 * loads $TZ (a name under /usr/share/zoneinfo or an absolute path; empty or UTC for UTC) or else
 * /etc/localtime, and the footer of that TZif file holds the zone's current rule with its standard
 * and daylight abbreviations. These are the agent's own zone files, not the host's under --path.rootfs:
 * node_exporter reports the zone of its own process too.
 */
function localZone(fs: FileReader): (now: Date) => string {
  const fallback = (now: Date): string =>
    offsetSeconds(now) === 0
      ? 'UTC'
      : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
          .formatToParts(now)
          .find((part) => part.type === 'timeZoneName')?.value ?? '')
  const tz = process.env.TZ?.replace(/^:/, '')
  if (tz === '' || tz === 'UTC') return () => 'UTC'
  const path = tz === undefined ? '/etc/localtime' : tz.startsWith('/') ? tz : join('/usr/share/zoneinfo', tz)
  let tzif: string
  try {
    tzif = fs.readText(path)
  } catch {
    return fallback
  }
  // The footer is the last line, between the file's last two newlines (TZif version 2 and later).
  if (!tzif.endsWith('\n')) return fallback
  const end = tzif.length - 1
  const rule = POSIX_TZ.exec(tzif.slice(tzif.lastIndexOf('\n', end - 1) + 1, end))
  if (!rule?.[1] || !rule[2]) return fallback
  const standard = rule[1].replace(/^<(.*)>$/, '$1')
  const daylight = rule[3]?.replace(/^<(.*)>$/, '$1')
  // POSIX offsets count hours west of Greenwich.
  const [hours = 0, minutes = 0, seconds = 0] = rule[2].replace(/^[+-]/, '').split(':').map(Number)
  const standardOffset = (rule[2].startsWith('-') ? 1 : -1) * (hours * 3600 + minutes * 60 + seconds)
  return (now) => (daylight === undefined || offsetSeconds(now) === standardOffset ? standard : daylight)
}
