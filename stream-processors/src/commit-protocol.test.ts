import type { KafkaMessage, Offsets } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { CommitProtocol, type Chunk, type PartitionBatch } from './commit-protocol.ts'
import { decodeIntent, type ChunkIntent } from './intent.ts'

const TOPIC = 't'
const PARTITION = 3

/** Messages at these offsets (contents do not matter to the protocol). */
function messages(from: number, to: number): KafkaMessage[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    offset: String(from + i),
    key: null,
    value: Buffer.from('x'),
    timestamp: '0',
    attributes: 0,
    headers: {},
  }))
}

/**
 * The broker side of one partition: what the group has committed (offset and metadata) and a log
 * of every step in order, so a test reads the protocol's sequence of commits and stores.
 */
class FakeGroup {
  readonly log: string[] = []
  committed: { offset: string; metadata: string | null } | undefined
  running = true
  stale = false

  intents(): Map<number, ChunkIntent> {
    const m = new Map<number, ChunkIntent>()
    const intent = this.committed && decodeIntent(this.committed.metadata, this.committed.offset)
    if (intent) m.set(PARTITION, intent)
    return m
  }

  batch(msgs: KafkaMessage[]): PartitionBatch {
    return {
      batch: {
        topic: TOPIC,
        partition: PARTITION,
        messages: msgs,
        lastOffset: () => msgs.at(-1)?.offset ?? '-1',
      },
      isRunning: () => this.running,
      isStale: () => this.stale,
      heartbeat: () => Promise.resolve(),
      resolveOffset: (offset: string) => {
        this.log.push(`resolve ${offset}`)
      },
      commitOffsetsIfNecessary: (offsets?: Offsets) => {
        const [t] = offsets?.topics ?? []
        const [p] = t?.partitions ?? []
        if (!t || !p || t.topic !== TOPIC || p.partition !== PARTITION) throw new Error('unexpected commit')
        const metadata = (p as { metadata?: string | null }).metadata ?? null
        this.committed = { offset: p.offset, metadata }
        this.log.push(metadata ? `commit ${p.offset} ${metadata}` : `commit ${p.offset}`)
        return Promise.resolve()
      },
    }
  }
}

/** A protocol over the fake group, and a store that logs what it was given. */
function setup(maxMessages: number, group = new FakeGroup()) {
  let reads = 0
  const protocol = new CommitProtocol({
    readIntents: () => {
      reads++
      return Promise.resolve(group.intents())
    },
    maxMessages,
  })
  const stored: Chunk[] = []
  const store = (chunk: Chunk): Promise<boolean> => {
    stored.push(chunk)
    group.log.push(`store ${chunk.token}${chunk.replay ? ' (replay)' : ''} ×${String(chunk.messages.length)}`)
    return Promise.resolve(true)
  }
  return { group, protocol, stored, store, reads: () => reads }
}

describe('commit protocol', () => {
  it('commits each chunk’s intent, then stores it under the range’s token, then commits past it', async () => {
    const { group, protocol, store } = setup(2)
    await protocol.run(group.batch(messages(0, 4)), store)
    expect(group.log).toEqual([
      'commit 0 procstream-intent:v1:0-1',
      'store t/3/0-1 ×2',
      'commit 2',
      'resolve 1',
      'commit 2 procstream-intent:v1:2-3',
      'store t/3/2-3 ×2',
      'commit 4',
      'resolve 3',
      'commit 4 procstream-intent:v1:4-4',
      'store t/3/4-4 ×1',
      'commit 5',
      'resolve 4',
    ])
    expect(group.committed).toEqual({ offset: '5', metadata: null })
  })

  it('commits nothing past a chunk that was not stored, and leaves its intent for the next owner', async () => {
    const { group, protocol } = setup(10)
    await protocol.run(group.batch(messages(0, 4)), () => Promise.resolve(false))
    expect(group.log).toEqual(['commit 0 procstream-intent:v1:0-4'])

    const failing = setup(10, group)
    await expect(
      failing.protocol.run(group.batch(messages(0, 4)), () => Promise.reject(new Error('insert failed'))),
    ).rejects.toThrow('insert failed')
    expect(group.committed).toEqual({ offset: '0', metadata: 'procstream-intent:v1:0-4' })
  })

  it('replays an unfinished intent as exactly its range and token, whatever its own chunk size', async () => {
    const first = setup(5)
    await first.protocol.run(first.group.batch(messages(10, 19)), () => Promise.resolve(false))
    // Another member (another chunk size) resumes the partition where the group stands.
    const next = setup(3, first.group)
    await next.protocol.run(next.group.batch(messages(10, 19)), next.store)
    expect(next.stored.map((c) => [c.token, c.replay, c.messages.length])).toEqual([
      ['t/3/10-14', true, 5],
      ['t/3/15-17', false, 3],
      ['t/3/18-19', false, 2],
    ])
    // A replayed range is not committed as an intent again: it is one already.
    expect(next.group.log.slice(1, 4)).toEqual(['store t/3/10-14 (replay) ×5', 'commit 15', 'resolve 14'])
  })

  it('holds a replayed chunk split over two fetches, committing nothing until all of it is here', async () => {
    const first = setup(6)
    await first.protocol.run(first.group.batch(messages(0, 5)), () => Promise.resolve(false))
    const next = setup(2, first.group)
    first.group.log.length = 0
    await next.protocol.run(next.group.batch(messages(0, 3)), next.store)
    expect(next.group.log).toEqual(['resolve 3'])
    await next.protocol.run(next.group.batch(messages(4, 6)), next.store)
    expect(next.stored.map((c) => [c.token, c.messages.map((m) => m.offset).join(',')])).toEqual([
      ['t/3/0-5', '0,1,2,3,4,5'],
      ['t/3/6-6', '6'],
    ])
  })

  it('ignores an intent that does not start where the partition is read', async () => {
    const group = new FakeGroup()
    group.committed = { offset: '7', metadata: 'procstream-intent:v1:7-9' }
    const { protocol, stored, store } = setup(10, group)
    await protocol.run(group.batch(messages(8, 12)), store)
    expect(stored.map((c) => [c.token, c.replay])).toEqual([['t/3/8-12', false]])
  })

  it('stops at once when the partition is taken away', async () => {
    const { group, protocol, store } = setup(2)
    group.stale = true
    await protocol.run(group.batch(messages(0, 4)), store)
    expect(group.log).toEqual([])

    group.stale = false
    const stopping = setup(2, group)
    await stopping.protocol.run(group.batch(messages(0, 4)), (chunk) => {
      group.running = false
      return stopping.store(chunk)
    })
    // The chunk in hand completes; the next is not begun.
    expect(group.log).toEqual([
      'commit 0 procstream-intent:v1:0-1',
      'store t/3/0-1 ×2',
      'commit 2',
      'resolve 1',
    ])
  })

  it('reads the committed intents once per group generation', async () => {
    const { group, protocol, store, reads } = setup(2)
    await protocol.run(group.batch(messages(0, 1)), store)
    await protocol.run(group.batch(messages(2, 3)), store)
    expect(reads()).toBe(1)
    protocol.reset()
    await protocol.run(group.batch(messages(4, 5)), store)
    expect(reads()).toBe(2)
  })

  it('a new generation drops held messages: the next fetch starts over from the committed offset', async () => {
    const first = setup(4)
    await first.protocol.run(first.group.batch(messages(0, 3)), () => Promise.resolve(false))
    const next = setup(2, first.group)
    await next.protocol.run(next.group.batch(messages(0, 1)), next.store)
    next.protocol.reset()
    await next.protocol.run(next.group.batch(messages(0, 3)), next.store)
    expect(next.stored.map((c) => c.messages.map((m) => m.offset).join(','))).toEqual(['0,1,2,3'])
  })

  it('the steps alone (the tier feeder’s way): pending finds the recorded intent until it completes', async () => {
    const { group, protocol } = setup(100)
    const p = group.batch([])
    await protocol.recordIntent(p, TOPIC, PARTITION, { first: '4', last: '8' })
    expect(await protocol.pending(PARTITION, '4')).toEqual({ first: '4', last: '8' })
    expect(await protocol.pending(PARTITION, '5')).toBeUndefined()
    await protocol.complete(p, TOPIC, PARTITION, { first: '4', last: '8' })
    expect(await protocol.pending(PARTITION, '4')).toBeUndefined()
    expect(group.committed).toEqual({ offset: '9', metadata: null })
  })
})
