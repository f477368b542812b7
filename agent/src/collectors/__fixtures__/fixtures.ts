import { readFileSync } from 'node:fs'

/** A fixture file by its path below __fixtures__, e.g. `live-t0/proc/stat`. */
export function readFixture(path: string): string {
  return readFileSync(new URL(path, import.meta.url), 'utf8')
}
