/** The error `fn` throws (failing if it does not), for assertions on its code and message. */
export function caught(fn: () => unknown): { code?: unknown; message: string } {
  try {
    fn()
  } catch (err) {
    return err as { code?: unknown; message: string }
  }
  throw new Error('expected an error, but none was thrown')
}
