import { aroundAll, beforeEach, type RunnerTask } from 'vitest'
import { setDefaultLogDestination } from '#platform/logger.ts'

/*
 * A setup file of both test projects (vitest.config.ts). The logs of a passing test are noise that
 * hides a real failure, yet a failing test's logs are often what explains it. pino writes straight
 * to file descriptor 1, past vitest's console capture, so every logger made without a destination
 * of its own (the tests', and those the code under test makes) writes here instead: each line is
 * held until its test ends and printed only if it failed. Lines logged outside a test (beforeAll,
 * afterAll, between tests) go out with the next failing test, or at the end of the file if a hook
 * failed; a file that passes prints none.
 */

let inTest = false
let testLines: string[] = []
let outsideLines: string[] = []

setDefaultLogDestination({
  write(line: string) {
    ;(inTest ? testLines : outsideLines).push(line.trimEnd())
  },
})

function print(what: string, lines: string[]): void {
  if (lines.length === 0) return
  console.error(`── ${what}: ${String(lines.length)} log line(s) ──\n${lines.join('\n')}`)
}

beforeEach(({ onTestFinished }) => {
  inTest = true
  onTestFinished(({ task }) => {
    inTest = false
    if (task.result?.state === 'fail') {
      print('logged outside any test before this one', outsideLines)
      print('logged by this test', testLines)
      outsideLines = []
    }
    testLines = []
  })
})

const failed = (task: RunnerTask): boolean =>
  task.result?.state === 'fail' || (task.type === 'suite' && task.tasks.some(failed))

// Wraps the whole file, so it sees a failed beforeAll or afterAll as well as failed tests. The empty
// pattern: vitest requires the (fixtures) context argument to be destructured.
// eslint-disable-next-line no-empty-pattern
aroundAll(async (runSuite, {}, file) => {
  await runSuite()
  if (failed(file)) print('logged outside tests', [...outsideLines, ...testLines])
  outsideLines = []
  testLines = []
})
