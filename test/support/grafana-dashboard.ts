/**
 * A Grafana dashboard (JSON model) replayed as Grafana's Prometheus data source would run it: its
 * panels (rows' nested panels included) and their targets, its template variables, the
 * interpolation of `$var` / `${var}` / `[[var]]` and of the built-ins (`$__interval`,
 * `$__rate_interval`, `$__range`, …), the `label_values()` variable queries turned into the HTTP API
 * calls Grafana makes, and a comparison of two answers to the same range query (a reference
 * Prometheus and the system under test).
 *
 * Grafana's own rules are followed (public/app/plugins/datasource/prometheus/datasource.ts and
 * metric_find_query.ts, Grafana 9/10): the interval is the time range over max data points rounded
 * to a "nice" interval, at least the panel's min interval or else the data source's scrape interval;
 * the step is that interval times the target's interval factor; `$__rate_interval` is
 * max(`$__interval` + scrape interval, 4 × scrape interval); a single-valued variable is inserted
 * with backslashes and single quotes escaped, a multi-valued one as a regex alternation.
 */

export interface DashboardTarget {
  refId: string
  expr: string
  /** Hidden targets are not queried by Grafana. */
  hide: boolean
  /** Grafana runs an instant query (as well as, or instead of, the range query). */
  instant: boolean
  /** Grafana runs a range query; true unless the target says `range: false`. */
  range: boolean
  /** The target's min interval ("" or absent: the panel's, else the data source's). */
  interval: string | undefined
  intervalFactor: number
  legendFormat: string | undefined
}

export interface DashboardPanel {
  id: number
  title: string
  type: string
  /** Title of the row the panel sits in, if any. */
  row: string | undefined
  /** The panel's min interval, e.g. "1m". */
  interval: string | undefined
  maxDataPoints: number | undefined
  targets: DashboardTarget[]
}

export interface DashboardVariable {
  name: string
  /** query, custom, constant, interval, datasource, textbox, … */
  type: string
  /** The query text (query variables), the comma-separated values (custom) or the value (constant). */
  query: string
  regex: string | undefined
  /** 0 none, 1 alphabetical asc, 2 desc, 3/4 numerical, 5/6 alphabetical case-insensitive. */
  sort: number
  multi: boolean
  includeAll: boolean
  /** The value saved with the dashboard, if any. */
  current: string | undefined
}

export interface Dashboard {
  title: string
  uid: string | undefined
  panels: DashboardPanel[]
  variables: DashboardVariable[]
}

type Json = Record<string, unknown>

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}

function objects(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObject) : []
}

function parseTarget(t: Json, index: number): DashboardTarget | undefined {
  const expr = str(t.expr)
  if (expr === undefined || expr.trim() === '') return undefined
  const interval = str(t.interval)
  return {
    refId: str(t.refId) ?? String.fromCharCode(65 + index),
    expr,
    hide: t.hide === true,
    instant: t.instant === true,
    range: t.range !== false,
    interval: interval === '' ? undefined : interval,
    intervalFactor: num(t.intervalFactor) ?? 1,
    legendFormat: str(t.legendFormat),
  }
}

function parsePanel(p: Json, row: string | undefined): DashboardPanel {
  const interval = str(p.interval)
  return {
    id: num(p.id) ?? -1,
    title: str(p.title) ?? '',
    type: str(p.type) ?? '',
    row,
    interval: interval === '' ? undefined : interval,
    maxDataPoints: num(p.maxDataPoints),
    targets: objects(p.targets).flatMap((t, i) => parseTarget(t, i) ?? []),
  }
}

function currentValue(v: Json): string | undefined {
  const current = v.current
  if (!isObject(current)) return undefined
  const value = current.value
  if (typeof value === 'string') return value
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0]
  return undefined
}

function parseVariable(v: Json): DashboardVariable | undefined {
  const name = str(v.name)
  if (name === undefined) return undefined
  // Query variables keep their query either as a string (older models) or as { query, refId }.
  const q = isObject(v.query) ? str(v.query.query) : str(v.query)
  const regex = str(v.regex)
  return {
    name,
    type: str(v.type) ?? 'query',
    query: q ?? str(v.definition) ?? '',
    regex: regex === '' ? undefined : regex,
    sort: num(v.sort) ?? 0,
    multi: v.multi === true,
    includeAll: v.includeAll === true,
    current: currentValue(v),
  }
}

/**
 * Every panel with its targets, in the dashboard's order: the panels of a collapsed row are nested
 * under it, those of an expanded row follow it; the old `rows[].panels` model is read too. Row
 * panels themselves (no queries) are left out.
 */
export function parseDashboard(model: unknown): Dashboard {
  if (!isObject(model)) throw new Error('a dashboard model is a JSON object')
  const panels: DashboardPanel[] = []
  let row: string | undefined
  for (const p of objects(model.panels)) {
    if (p.type === 'row') {
      row = str(p.title)
      for (const child of objects(p.panels)) panels.push(parsePanel(child, row))
      continue
    }
    panels.push(parsePanel(p, row))
  }
  for (const r of objects(model.rows)) {
    for (const p of objects(r.panels)) panels.push(parsePanel(p, str(r.title)))
  }
  const templating = isObject(model.templating) ? model.templating : {}
  return {
    title: str(model.title) ?? '',
    uid: str(model.uid),
    panels,
    variables: objects(templating.list).flatMap((v) => parseVariable(v) ?? []),
  }
}

// ---------------------------------------------------------------------------------------------
// Intervals, as Grafana computes them for a Prometheus query.

/** Grafana's rangeUtil.roundInterval: the "nice" interval just above the raw one, in ms. */
export function roundInterval(ms: number): number {
  const steps: [number, number][] = [
    [15, 10],
    [35, 20],
    [75, 50],
    [150, 100],
    [350, 200],
    [750, 500],
    [1_500, 1_000],
    [3_500, 2_000],
    [7_500, 5_000],
    [12_500, 10_000],
    [17_500, 15_000],
    [25_000, 20_000],
    [45_000, 30_000],
    [90_000, 60_000],
    [210_000, 120_000],
    [450_000, 300_000],
    [750_000, 600_000],
    [1_050_000, 900_000],
    [1_500_000, 1_200_000],
    [2_700_000, 1_800_000],
    [5_400_000, 3_600_000],
    [9_000_000, 7_200_000],
    [16_200_000, 10_800_000],
    [32_400_000, 21_600_000],
    [86_400_000, 43_200_000],
    [604_800_000, 86_400_000],
    [1_814_400_000, 604_800_000],
    [3_628_800_000, 2_592_000_000],
  ]
  for (const [below, nice] of steps) if (ms < below) return nice
  return 31_536_000_000
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
}

/** A Grafana/Prometheus duration ("15s", "1m30s", "500ms", "2h") in ms; a bare number is seconds. */
export function parseDuration(text: string): number {
  const t = text.trim().replace(/^>/, '')
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1_000
  const parts = [...t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== t) {
    throw new Error(`not a duration: ${JSON.stringify(text)}`)
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * (DURATION_UNITS[p[2] ?? 's'] ?? 1_000), 0)
}

/** A duration as Grafana writes it into a query: whole seconds as "Ns", else "Nms". */
export function formatDuration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${Math.round(ms)}ms`
}

export interface QueryTiming {
  /** `$__interval` in ms. */
  intervalMs: number
  /** The range query's step in ms (`$__interval` × interval factor, at least the min interval). */
  stepMs: number
  /** `$__rate_interval` in ms. */
  rateIntervalMs: number
  /** `$__range` in ms. */
  rangeMs: number
}

export interface TimingOptions {
  rangeMs: number
  /** Panel width in pixels by default in Grafana; the panel's maxDataPoints when set. */
  maxDataPoints?: number
  /** The data source's scrape interval setting; Grafana assumes 15 s when it is not set. */
  scrapeIntervalMs?: number
  /** The panel's min interval ("1m"), else the data source's scrape interval is the lower limit. */
  panelInterval?: string
  /** The target's min interval, which wins over the panel's. */
  targetInterval?: string
  intervalFactor?: number
}

const DEFAULT_MAX_DATA_POINTS = 1_000
const DEFAULT_SCRAPE_INTERVAL_MS = 15_000

/** `$__interval`, the step and `$__rate_interval` for one target, as Grafana 9/10 compute them. */
export function queryTiming(o: TimingOptions): QueryTiming {
  const scrapeMs = o.scrapeIntervalMs ?? DEFAULT_SCRAPE_INTERVAL_MS
  const maxDataPoints = o.maxDataPoints ?? DEFAULT_MAX_DATA_POINTS
  // PanelQueryRunner: the panel's min interval, else the data source's (its scrape interval).
  const lowerLimitMs = o.panelInterval !== undefined ? parseDuration(o.panelInterval) : scrapeMs
  let intervalMs = roundInterval(o.rangeMs / maxDataPoints)
  if (intervalMs < lowerLimitMs) intervalMs = lowerLimitMs
  // Prometheus data source: the target's min interval, the interval factor and the 11,000-point cap.
  const minMs = o.targetInterval !== undefined ? parseDuration(o.targetInterval) : intervalMs
  let safeS = o.rangeMs / 1_000 / 11_000
  if (safeS > 1) safeS = Math.ceil(safeS)
  const stepMs = Math.max(intervalMs * (o.intervalFactor ?? 1), minMs, safeS * 1_000)
  // The adjusted interval becomes $__interval when it differs from the panel's.
  const interval = stepMs
  const rateIntervalMs = Math.max(interval + scrapeMs, 4 * scrapeMs)
  return { intervalMs: interval, stepMs, rateIntervalMs, rangeMs: o.rangeMs }
}

/** Grafana aligns a range query's start and end down to a multiple of the step. */
export function alignRange(
  startMs: number,
  endMs: number,
  stepMs: number,
): { startMs: number; endMs: number } {
  return {
    startMs: Math.floor(startMs / stepMs) * stepMs,
    endMs: Math.floor(endMs / stepMs) * stepMs,
  }
}

// ---------------------------------------------------------------------------------------------
// Interpolation.

/** A variable's value(s); several values come from a multi-value or "All" selection. */
export type VariableValue = string | string[]

export interface InterpolationContext {
  variables: Readonly<Record<string, VariableValue>>
  timing?: QueryTiming
  /** For `$__from` / `$__to` (ms since the epoch). */
  fromMs?: number
  toMs?: number
}

/** Grafana's prometheusRegularEscape: what a single-valued variable becomes inside a query. */
function regularEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/'/g, "\\\\'")
}

/** Grafana's prometheusSpecialRegexEscape ("classic"), for the values of a multi-value variable. */
function regexEscape(value: string): string {
  return value.replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]+?.()|]/g, '\\\\$&')
}

function builtins(ctx: InterpolationContext): Record<string, string> {
  const out: Record<string, string> = {}
  const t = ctx.timing
  if (t) {
    out.__interval = formatDuration(t.intervalMs)
    out.__interval_ms = String(t.intervalMs)
    out.__rate_interval = formatDuration(t.rateIntervalMs)
    out.__rate_interval_ms = String(t.rateIntervalMs)
    const rangeS = Math.round(t.rangeMs / 1_000)
    out.__range = `${rangeS}s`
    out.__range_s = String(rangeS)
    out.__range_ms = String(t.rangeMs)
  }
  if (ctx.fromMs !== undefined) out.__from = String(ctx.fromMs)
  if (ctx.toMs !== undefined) out.__to = String(ctx.toMs)
  return out
}

const VARIABLE_REF = /\$(\w+)|\$\{(\w+)(?::(\w+))?\}|\[\[(\w+)(?::(\w+))?\]\]/g

/**
 * Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` as Grafana's template service does for
 * a Prometheus query. Names are taken whole (`$nodename` is not `$node` + "name"); a name that is
 * neither a variable nor a built-in stays as written, as in Grafana.
 */
export function interpolate(text: string, ctx: InterpolationContext): string {
  const fixed = builtins(ctx)
  return text.replace(VARIABLE_REF, (whole, a?: string, b?: string, fb?: string, c?: string, fc?: string) => {
    const name = a ?? b ?? c ?? ''
    const format = fb ?? fc
    const builtin = fixed[name]
    if (builtin !== undefined) return builtin
    const value = ctx.variables[name]
    if (value === undefined) return whole
    const values = Array.isArray(value) ? value : [value]
    if (format === 'raw') return values.join(',')
    if (format === 'regex')
      return values.length === 1 ? regexEscape(values[0] ?? '') : `(${values.map(regexEscape).join('|')})`
    if (format === 'pipe') return values.join('|')
    if (format === 'csv') return values.join(',')
    if (values.length === 1 && !Array.isArray(value)) return regularEscape(values[0] ?? '')
    return values.length === 1 ? regexEscape(values[0] ?? '') : `(${values.map(regexEscape).join('|')})`
  })
}

// ---------------------------------------------------------------------------------------------
// Variable queries.

export type VariableQuery =
  | { kind: 'label_values'; label: string; match: string | undefined }
  | { kind: 'label_names'; match: string | undefined }
  | { kind: 'metrics'; regex: string }
  | { kind: 'query_result'; query: string }

/** The forms Grafana's Prometheus data source accepts as a variable query. */
export function parseVariableQuery(query: string): VariableQuery {
  const q = query.trim()
  let m = /^label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(q)
  if (m) return { kind: 'label_values', label: m[2] ?? '', match: m[1] }
  m = /^label_names\(\s*(.*?)\s*\)$/s.exec(q)
  if (m) return { kind: 'label_names', match: m[1] === '' ? undefined : m[1] }
  m = /^metrics\(\s*(.*?)\s*\)$/s.exec(q)
  if (m) return { kind: 'metrics', regex: m[1] ?? '' }
  m = /^query_result\(\s*(.+)\s*\)$/s.exec(q)
  if (m) return { kind: 'query_result', query: m[1] ?? '' }
  throw new Error(`not a Prometheus variable query Grafana knows: ${JSON.stringify(query)}`)
}

/** The Prometheus HTTP API calls a variable query needs; the test implements them over fetch. */
export interface VariableApi {
  /** GET /api/v1/series?match[]=… → the label sets (with __name__). */
  series(match: string, startMs: number, endMs: number): Promise<Record<string, string>[]>
  /** GET /api/v1/label/NAME/values (optionally with match[]=…). */
  labelValues(label: string, match: string | undefined, startMs: number, endMs: number): Promise<string[]>
  /** GET /api/v1/labels (optionally with match[]=…). */
  labelNames(match: string | undefined, startMs: number, endMs: number): Promise<string[]>
  /** GET /api/v1/query?query=…&time=… → one line of text per series (Grafana's query_result form). */
  instant(query: string, timeMs: number): Promise<{ metric: Record<string, string>; value: number }[]>
}

export interface ResolveOptions {
  startMs: number
  endMs: number
  /**
   * Grafana 9 reads label_values(metric, label) from /api/v1/series (the default here); Grafana 10
   * with a Prometheus that has the label values match API asks /api/v1/label/NAME/values?match[]=.
   */
  labelValuesApi?: 'series' | 'label-values'
  /** Values to select where a variable offers them (else the saved current value, else the first). */
  prefer?: Readonly<Record<string, string>>
}

export interface ResolvedVariable {
  name: string
  /** The query after interpolation of the variables before it, or the custom/constant text. */
  query: string
  /** Every option, in Grafana's sort order. */
  options: string[]
  /** The selected value; undefined when the variable resolved to nothing. */
  value: string | undefined
}

function applyRegex(values: string[], regex: string | undefined): string[] {
  if (regex === undefined) return values
  const m = /^\/(.*)\/([gimsuy]*)$/s.exec(regex)
  const re = m ? new RegExp(m[1] ?? '', m[2]?.replace('g', '')) : new RegExp(regex)
  const out: string[] = []
  for (const v of values) {
    const hit = re.exec(v)
    if (!hit) continue
    // A capture group (the first, or the one named "value") picks the part of the value kept.
    out.push(hit.groups?.value ?? hit[1] ?? v)
  }
  return out
}

function sortOptions(values: string[], sort: number): string[] {
  const unique = [...new Set(values)]
  const numeric = (s: string): number => {
    const m = /(-?\d+(?:\.\d+)?)/.exec(s)
    return m ? Number(m[1]) : Number.NaN
  }
  switch (sort) {
    case 1:
      return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    case 2:
      return unique.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    case 3:
      return unique.sort((a, b) => numeric(a) - numeric(b))
    case 4:
      return unique.sort((a, b) => numeric(b) - numeric(a))
    case 5:
      return unique.sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))
    case 6:
      return unique.sort((a, b) => b.toLowerCase().localeCompare(a.toLowerCase()))
    default:
      return unique
  }
}

async function runVariableQuery(q: VariableQuery, api: VariableApi, o: ResolveOptions): Promise<string[]> {
  switch (q.kind) {
    case 'label_values': {
      if (q.match === undefined || o.labelValuesApi === 'label-values') {
        return api.labelValues(q.label, q.match, o.startMs, o.endMs)
      }
      const sets = await api.series(q.match, o.startMs, o.endMs)
      return sets.flatMap((s) => (s[q.label] === undefined ? [] : [s[q.label] ?? '']))
    }
    case 'label_names':
      return api.labelNames(q.match, o.startMs, o.endMs)
    case 'metrics': {
      const re = new RegExp(q.regex)
      return (await api.labelValues('__name__', undefined, o.startMs, o.endMs)).filter((n) => re.test(n))
    }
    case 'query_result': {
      // Grafana: `name{label="value", …} value timestamp`, one text per series.
      const rows = await api.instant(q.query, o.endMs)
      return rows.map((r) => {
        const { __name__: name = '', ...labels } = r.metric
        const inner = Object.entries(labels)
          .map(([k, v]) => `${k}="${v}"`)
          .join(', ')
        return `${name}{${inner}} ${r.value} ${o.endMs}`
      })
    }
  }
}

/**
 * Resolves the dashboard's variables in order, each query seeing the values chosen before it, as
 * Grafana does on load: query variables through the HTTP API, custom ones from their list,
 * constants as written; data source and interval variables are skipped.
 */
export async function resolveVariables(
  variables: readonly DashboardVariable[],
  api: VariableApi,
  o: ResolveOptions,
): Promise<ResolvedVariable[]> {
  const chosen: Record<string, string> = {}
  const out: ResolvedVariable[] = []
  for (const v of variables) {
    let options: string[]
    let query = v.query
    if (v.type === 'query') {
      query = interpolate(v.query, { variables: chosen })
      options = sortOptions(
        applyRegex(await runVariableQuery(parseVariableQuery(query), api, o), v.regex),
        v.sort,
      )
    } else if (v.type === 'custom') {
      options = v.query
        .split(/(?<!\\),/)
        .map((s) => s.trim().replace(/\\,/g, ','))
        .filter((s) => s !== '')
    } else if (v.type === 'constant' || v.type === 'textbox') {
      options = [v.query]
    } else {
      continue
    }
    const preferred = o.prefer?.[v.name]
    const value =
      preferred !== undefined && options.includes(preferred)
        ? preferred
        : v.current !== undefined && options.includes(v.current)
          ? v.current
          : options[0]
    if (value !== undefined) chosen[v.name] = value
    out.push({ name: v.name, query, options, value })
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// What an expression reads, and how two answers compare.

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
])

/** The metric names a PromQL expression selects, in order of appearance, without repeats. */
export function metricNames(expr: string): string[] {
  const out: string[] = []
  let i = 0
  const n = expr.length
  const skipTo = (close: string): void => {
    while (i < n && expr[i] !== close) {
      const c = expr[i]
      if (c === '"' || c === "'" || c === '`') {
        i++
        while (i < n && expr[i] !== c) i += expr[i] === '\\' ? 2 : 1
      }
      i++
    }
    i++
  }
  while (i < n) {
    const c = expr[i] ?? ''
    if (c === '"' || c === "'" || c === '`') {
      i++
      while (i < n && expr[i] !== c) i += expr[i] === '\\' ? 2 : 1
      i++
      continue
    }
    if (c === '{') {
      i++
      skipTo('}')
      continue
    }
    if (c === '[') {
      i++
      skipTo(']')
      continue
    }
    // Numbers and durations (1e3, 0x1F, 5m, 1h30m) are no metric names.
    const number = /^(0x[0-9a-fA-F]+|\d*\.?\d+([eE][+-]?\d+)?(ms|[smhdwy])*)/.exec(expr.slice(i))
    if (number && number[0] !== '') {
      i += number[0].length
      continue
    }
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))
    if (!m) {
      i++
      continue
    }
    const word = m[0]
    i += word.length
    const rest = expr.slice(i).trimStart()
    if (KEYWORDS.has(word.toLowerCase())) {
      // by (…), without (…), on (…), ignoring (…), group_left (…): label lists, not metrics.
      if (/^(by|without|on|ignoring|group_left|group_right)$/i.test(word) && rest.startsWith('(')) {
        i = n - rest.length + 1
        skipTo(')')
      }
      continue
    }
    // A function or an aggregation, also as `sum by (…) (…)` / `sum without (…) (…)`.
    if (rest.startsWith('(') || /^(by|without)\s*\(/i.test(rest)) continue
    if (!out.includes(word)) out.push(word)
  }
  return out
}

export interface Series {
  metric: Record<string, string>
  values: [number, number][]
}

/** A Prometheus matrix (`data.result` of query_range) with the values as numbers. */
export function toSeries(result: unknown): Series[] {
  if (!Array.isArray(result)) return []
  return result.filter(isObject).map((r) => ({
    metric: isObject(r.metric)
      ? Object.fromEntries(Object.entries(r.metric).map(([k, v]) => [k, String(v)]))
      : {},
    values: (Array.isArray(r.values) ? r.values : [])
      .filter((p): p is [unknown, unknown] => Array.isArray(p) && p.length === 2)
      .map(([t, v]) => [Number(t), Number(v)] as [number, number])
      .filter(([, v]) => !Number.isNaN(v)),
  }))
}

export type ValueKind = 'gauge' | 'rate' | 'info'

/** How an expression's values are compared: rates loosely, info metrics by label sets only. */
export function valueKind(expr: string): ValueKind {
  if (/\b(i?rate|increase|i?delta|deriv)\s*\(/.test(expr)) return 'rate'
  const names = metricNames(expr)
  if (names.length > 0 && names.every((m) => m.endsWith('_info'))) return 'info'
  return 'gauge'
}

export interface ComparisonOptions {
  kind: ValueKind
  /** Labels one side adds that the other cannot have (procstream's `host`). */
  ignoreLabels?: readonly string[]
}

export interface Comparison {
  agree: boolean
  /** Series (label sets) in both answers. */
  matched: number
  onlyReference: string[]
  onlyCandidate: string[]
  /** Points compared (same series, same timestamp) and how many were within tolerance. */
  points: number
  pointsWithin: number
  /** Largest relative difference seen, for the report. */
  worstRelative: number
  /** Labels the candidate returns with an empty value, which Prometheus never returns. */
  emptyLabels: string[]
  reason: string
}

/** Prometheus drops empty-valued labels: `{a=""}` is the series without `a`. */
function seriesKey(metric: Record<string, string>, ignore: ReadonlySet<string>): string {
  return Object.keys(metric)
    .filter((k) => !ignore.has(k) && metric[k] !== '')
    .sort()
    .map((k) => `${k}="${metric[k] ?? ''}"`)
    .join(',')
}

const TOLERANCE: Record<ValueKind, { rel: number; absOfScale: number; share: number }> = {
  // Read at instants up to a sample interval apart: 5 % (or 1 % of the series' scale) at 90 % of points.
  gauge: { rel: 0.05, absOfScale: 0.01, share: 0.9 },
  // Rates over windows whose samples fall at other instants: 25 % (or 2 % of scale) at 75 % of points.
  rate: { rel: 0.25, absOfScale: 0.02, share: 0.75 },
  info: { rel: Number.POSITIVE_INFINITY, absOfScale: 0, share: 0 },
}

/**
 * Compares the candidate's answer to the reference's, series by series (label sets, minus the
 * ignored and the empty-valued labels, as Prometheus drops those) and point by point at the
 * timestamps both have. Two collectors read the host at different instants, so a series passes when
 * enough of its points are within tolerance, or else when its mean over the common points is within
 * tolerance plus what the series' own variation explains (twice the standard error of the
 * difference of two means of n reads): a busy gauge such as procs_running, a mostly idle one with
 * rare spikes such as Writeback, or the irate of a bursty counter, differs at each instant but not
 * on average. The answers agree when no more than one matched series in ten
 * fails and the candidate lacks none of the reference's series.
 */
export function compareSeries(reference: Series[], candidate: Series[], o: ComparisonOptions): Comparison {
  const ignore = new Set(o.ignoreLabels ?? [])
  const ref = new Map(reference.map((s) => [seriesKey(s.metric, ignore), s]))
  const cand = new Map(candidate.map((s) => [seriesKey(s.metric, ignore), s]))
  const onlyReference = [...ref.keys()].filter((k) => !cand.has(k))
  const onlyCandidate = [...cand.keys()].filter((k) => !ref.has(k))
  const tol = TOLERANCE[o.kind]
  let matched = 0
  let points = 0
  let pointsWithin = 0
  let worstRelative = 0
  const failing: string[] = []
  for (const [key, r] of ref) {
    const c = cand.get(key)
    if (!c) continue
    matched++
    if (o.kind === 'info') continue
    const scale = Math.max(
      ...r.values.map(([, v]) => Math.abs(v)),
      ...c.values.map(([, v]) => Math.abs(v)),
      0,
    )
    const byTime = new Map(c.values.map(([t, v]) => [t, v]))
    let n = 0
    let within = 0
    let sumA = 0
    let sumB = 0
    let sqA = 0
    let sqB = 0
    for (const [t, a] of r.values) {
      const b = byTime.get(t)
      if (b === undefined) continue
      n++
      sumA += a
      sumB += b
      sqA += a * a
      sqB += b * b
      const diff = Math.abs(a - b)
      const big = Math.max(Math.abs(a), Math.abs(b))
      if (big > 0) worstRelative = Math.max(worstRelative, diff / big)
      if (diff <= tol.rel * big + tol.absOfScale * scale + 1e-9) within++
    }
    points += n
    pointsWithin += within
    if (n === 0) {
      failing.push(key)
      continue
    }
    if (within / n >= tol.share) continue
    const meanA = sumA / n
    const meanB = sumB / n
    // Two means of n reads of series that vary by σa and σb differ by about √((σa² + σb²) / n)
    // (the standard error of their difference); twice that is allowed.
    const variance = Math.max(0, sqA / n - meanA * meanA) + Math.max(0, sqB / n - meanB * meanB)
    const allowed =
      tol.rel * Math.max(Math.abs(meanA), Math.abs(meanB)) +
      Math.max(tol.absOfScale * scale, 2 * Math.sqrt(variance / n))
    if (Math.abs(meanA - meanB) > allowed + 1e-9) failing.push(key)
  }
  const emptyLabels = [
    ...new Set(candidate.flatMap((c) => Object.keys(c.metric).filter((k) => c.metric[k] === ''))),
  ]
  const base = { matched, onlyReference, onlyCandidate, points, pointsWithin, worstRelative, emptyLabels }
  if (reference.length === 0 && candidate.length === 0)
    return { ...base, agree: true, reason: 'no data in either' }
  if (matched === 0) {
    const why = candidate.length === 0 ? 'no series in the candidate' : 'no series with the same labels'
    return { ...base, agree: false, reason: why }
  }
  if (o.kind === 'info') {
    const agree = onlyReference.length === 0 && onlyCandidate.length === 0
    return { ...base, agree, reason: agree ? 'same label sets' : 'label sets differ' }
  }
  if (points === 0) return { ...base, agree: false, reason: 'no common timestamps' }
  const summary = `${pointsWithin}/${points} points within ${o.kind} tolerance`
  // One series in ten may be off (an interrupt line the readers themselves raise, one busy CPU).
  if (failing.length > Math.floor(matched / 10)) {
    return {
      ...base,
      agree: false,
      reason: `${summary}; ${failing.length} series off beyond their own variation (${failing.slice(0, 2).join(' / ')})`,
    }
  }
  if (onlyReference.length > 0) {
    return { ...base, agree: false, reason: `${onlyReference.length} series only in the reference` }
  }
  return { ...base, agree: true, reason: summary }
}
