/** What a transport may ask of the sink after one of its sends failed. */
export interface FailureAdvice {
  /** Wait at least this long before the next attempt (the sink caps it at MAX_RETRY_AFTER_MS). */
  retryAfterMs?: number
  /**
   * The destination refused a record for what it is (HTTP 400 or 413): sending it again cannot help.
   * `index` is the refused record's place in the batch when the destination named it.
   */
  refused?: { index: number | undefined; reason: string }
}

/** The longest wait a transport may impose: a misconfigured server must not stall the agent for hours. */
export const MAX_RETRY_AFTER_MS = 60_000

/** How much one request may carry. */
export interface RequestLimit {
  /** The records' bytes, counting `perRecordBytes` more for each, stay within this; one record always goes. */
  bytes: number
  /** What the destination may add to each record before it writes the request. */
  perRecordBytes: number
}

/**
 * Where a SpoolingSink delivers records. The sink owns queueing, spooling, order and retries; a
 * transport only turns one batch of single-object-encoded records into one acknowledged request.
 * The sink never has two sends in flight, and after a failure it resends exactly the same records.
 */
export interface Transport {
  /** Names the destination in log lines, e.g. "Kafka". */
  readonly describe: string
  /**
   * The sink's batches stay within this. The agent's order rests on it as much as on one send at a
   * time: a request within it reaches the topic as one unit, in the records' order, while a larger one
   * may be cut into pieces, which a gateway before 2026-12-07 wrote side by side, to land in either order.
   */
  readonly maxRequest: RequestLimit
  /** Called before every send; must be cheap when already connected. */
  connect(): Promise<void>
  /** Resolves only once the destination has acknowledged every record; `messages` is what it cost. */
  send(records: Buffer[]): Promise<{ messages: number }>
  close(): Promise<void>
  /** Called once for every failed connect or send, before the retry is scheduled. */
  afterFailure?(err: unknown): FailureAdvice | undefined
}
