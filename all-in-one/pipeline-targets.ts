import type { PipelineTarget } from '../query-api/src/pipeline/targets.ts'

/**
 * The all-in-one's components for the pipeline view, unless QUERY_PIPELINE_TARGETS names others: the
 * gateway (its own process), the processor's metrics port, the agent's, and the query API itself.
 * An address a component was told not to serve (`off`) is left out rather than shown as down.
 */
export function localPipelineTargets(o: {
  gatewayUrl: string
  processorMetrics: string | undefined
  agentMetricsListen: string | undefined
  queryApiUrl: string
}): PipelineTarget[] {
  const targets: PipelineTarget[] = [{ name: 'gateway', url: `${o.gatewayUrl}/metrics` }]
  if (o.processorMetrics !== undefined)
    targets.push({ name: 'processor', url: `http://${o.processorMetrics}/metrics` })
  const agent = o.agentMetricsListen ?? '127.0.0.1:9464'
  if (agent !== 'off') targets.push({ name: 'agent', url: `http://${agent}/metrics` })
  targets.push({ name: 'query-api', url: `${o.queryApiUrl}/metrics` })
  return targets
}
