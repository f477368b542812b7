import { describe, expect, it } from 'vitest'
import { decodeIntent, dedupToken, encodeIntent } from './intent.ts'

describe('chunk intent', () => {
  it('round-trips through commit metadata when it starts at the committed offset', () => {
    const meta = encodeIntent({ first: '120', last: '180' })
    expect(decodeIntent(meta, '120')).toEqual({ first: '120', last: '180' })
    expect(dedupToken('t', 3, { first: '120', last: '180' })).toBe('t/3/120-180')
  })

  it('ignores metadata that is not ours, stale, or malformed', () => {
    expect(decodeIntent(null, '5')).toBeUndefined()
    expect(decodeIntent('something else', '5')).toBeUndefined()
    expect(decodeIntent(encodeIntent({ first: '4', last: '9' }), '10')).toBeUndefined()
    expect(decodeIntent('procstream-intent:v1:9-4', '9')).toBeUndefined()
    expect(decodeIntent('procstream-intent:v1:x-4', 'x')).toBeUndefined()
  })
})
