/** One component whose /metrics the pipeline view reads, as QUERY_PIPELINE_TARGETS names it. */
export interface PipelineTarget {
  readonly name: string
  readonly url: string
}

const NAME = /^[a-z][a-z0-9_-]{0,31}$/
export const MAX_PIPELINE_TARGETS = 32

/**
 * QUERY_PIPELINE_TARGETS: comma-separated `name=url` pairs, e.g.
 * `gateway=http://10.0.0.5:8081/metrics,processor=http://10.0.0.6:9465/metrics`. These URLs, and
 * only these, are ever fetched by GET /api/v1/pipeline, so every one is checked here: http or https,
 * no credentials in it (the answer shows the URL to the operator), no fragment, unique names.
 */
export function parsePipelineTargets(value: string | undefined): {
  targets: PipelineTarget[]
  problems: string[]
} {
  const targets: PipelineTarget[] = []
  const problems: string[] = []
  if (value === undefined || value.trim() === '') return { targets, problems }
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
  if (entries.length > MAX_PIPELINE_TARGETS)
    problems.push(
      `QUERY_PIPELINE_TARGETS lists ${String(entries.length)} targets; at most ${String(MAX_PIPELINE_TARGETS)}`,
    )
  const names = new Set<string>()
  for (const entry of entries.slice(0, MAX_PIPELINE_TARGETS)) {
    const eq = entry.indexOf('=')
    const name = eq === -1 ? '' : entry.slice(0, eq).trim()
    const raw = eq === -1 ? '' : entry.slice(eq + 1).trim()
    if (!NAME.test(name)) {
      problems.push(
        `QUERY_PIPELINE_TARGETS entry ${JSON.stringify(entry.slice(0, 80))} is not name=url with a name of a-z, 0-9, _ and - (at most 32)`,
      )
      continue
    }
    if (names.has(name)) {
      problems.push(`QUERY_PIPELINE_TARGETS names ${name} twice`)
      continue
    }
    names.add(name)
    let url: URL
    try {
      url = new URL(raw)
    } catch {
      problems.push(`QUERY_PIPELINE_TARGETS ${name}: not a URL`)
      continue
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      problems.push(`QUERY_PIPELINE_TARGETS ${name}: must use http or https`)
    else if (url.username !== '' || url.password !== '')
      problems.push(`QUERY_PIPELINE_TARGETS ${name}: credentials do not belong in the URL`)
    else if (url.hash !== '') problems.push(`QUERY_PIPELINE_TARGETS ${name}: no #fragment`)
    else targets.push({ name, url: url.href })
  }
  return { targets, problems }
}
