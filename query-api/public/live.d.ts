// Types of what the unit tests (query-api/src/dashboard-live.test.ts) import from live.js.

export type LiveTuple = [metric: string, labels: string, tsUs: number, value: number]
export interface LiveMessage {
  host: string
  points: LiveTuple[]
  rates: LiveTuple[]
}

export function createSseParser(onData: (data: string) => void): { push(text: string): void }
export function parseLiveMessage(text: string): LiveMessage | null
export function retryDelay(failures: number): number
