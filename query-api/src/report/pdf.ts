import { accessSync, constants } from 'node:fs'
import { chromium } from 'playwright-core'
import { QueryApiError } from '../errors.ts'

/** Debian's chromium, which the tests use too; playwright-core downloads no browser of its own. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium'

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * The report's HTML printed by headless Chromium. One browser per report, closed after it: reports
 * are rare, and a browser left running would hold a few hundred MB for nothing.
 */
export async function htmlToPdf(html: string, chromiumPath: string | undefined): Promise<Buffer> {
  if (chromiumPath === undefined || !isExecutable(chromiumPath))
    throw new QueryApiError(
      'REPORT_UNAVAILABLE',
      'PDF reports are not available: no browser is configured (REPORT_CHROMIUM_PATH)',
    )
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // No sandbox: containers rarely allow the user namespaces it needs. The page is our own HTML,
    // with a CSP that allows no script, and the browser is offline to it: nothing is fetched.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--force-color-profile=srgb'],
  })
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true })
    const page = await context.newPage()
    await page.setContent(html, { waitUntil: 'load' })
    return await page.pdf({
      format: 'A4',
      printBackground: true,
      margin: { top: '12mm', bottom: '12mm', left: '10mm', right: '10mm' },
    })
  } finally {
    await browser.close()
  }
}
