import { describe, expect, it } from 'vitest'
import { kafkaVersion } from './kafka-jars.ts'

describe('kafka-jars', () => {
  it('reads the broker version from deploy/kafka/pom.xml', () => {
    expect(kafkaVersion()).toMatch(/^\d+\.\d+\.\d+$/)
  })
})
