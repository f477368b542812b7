import { describe, expect, it } from 'vitest'
import { metricCatalogues } from '#schemas/src/node-metrics/index.ts'
import { NODE_COLLECTORS } from './index.ts'

/**
 * The schedule entries (and the query API's check of a control request) come from the schema's
 * catalogues (schemas/src/schedulable.ts), so the agent must have exactly those collectors, in that
 * order, or a request would name a collector the agent does not run, or miss one it does.
 */
describe('node collectors and their catalogues', () => {
  it('are the same collectors in the same order', () => {
    expect(NODE_COLLECTORS.map((c) => c.name)).toEqual(metricCatalogues().map((c) => c.collector))
  })
})
