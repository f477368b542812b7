import { ConfigError, ProcstreamError } from './errors.ts'

/**
 * The entry point of a long-running service: runs `start`, which returns how to stop, and stops on
 * SIGINT or SIGTERM (once, however many signals arrive: a second Ctrl-C must not kill it mid-stop),
 * then exits 0, or 1 with the reason when stopping fails. A start that fails exits with
 * one line on stderr: status 2 for bad configuration (the operator must fix the environment), 1 for
 * anything else, with the stack only for errors that are not procstream's own.
 */
export function runService(name: string, start: () => Promise<() => Promise<void>>): void {
  start()
    .then((stop) => {
      let stopping = false
      const onSignal = (): void => {
        if (stopping) return
        stopping = true
        stop().then(
          () => process.exit(0),
          (err: unknown) => {
            process.stderr.write(
              `${name} did not stop cleanly: ${err instanceof Error ? err.message : String(err)}\n`,
            )
            process.exit(1)
          },
        )
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`)
        process.exit(2)
      }
      const detail =
        err instanceof ProcstreamError
          ? err.message
          : err instanceof Error
            ? (err.stack ?? err.message)
            : String(err)
      process.stderr.write(`${name} could not start: ${detail}\n`)
      process.exit(1)
    })
}
