import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's chromium: playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * Headless chromium for dashboard tests. A missing browser fails the test that asked for it, never
 * skips it: a skipped browser test looks like a passing one.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`chromium not found at ${CHROMIUM_PATH}: npm run setup installs Debian's chromium`)
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // No sandbox: containers and CI runners rarely allow the user namespaces it needs.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--force-color-profile=srgb'],
  })
}

/** What a canvas shows, from its pixels. */
export interface CanvasInk {
  width: number
  height: number
  /** Pixels that are not transparent. */
  painted: number
  /** Saturated pixels: series colours, not the grey of axes, grid lines and labels. */
  coloured: number
  /** Distinct colours among the painted pixels (RGBA quantised to 4 bits a channel). */
  colours: number
}

/**
 * Pixel statistics of every canvas matching `selector`, in document order. Axes and grid lines are
 * grey, so `coloured` counts only what a chart drew for its data.
 */
export async function canvasInk(page: Page, selector: string): Promise<CanvasInk[]> {
  // A string, not a function: the test code is compiled without the DOM types the page has.
  return page.evaluate<CanvasInk[]>(`(() => {
    return [...document.querySelectorAll(${JSON.stringify(selector)})].map((canvas) => {
      const { width, height } = canvas
      const ink = { width, height, painted: 0, coloured: 0, colours: 0 }
      if (width === 0 || height === 0) return ink
      const data = canvas.getContext('2d').getImageData(0, 0, width, height).data
      const seen = new Set()
      for (let i = 0; i < data.length; i += 4) {
        const r = data[i], g = data[i + 1], b = data[i + 2], a = data[i + 3]
        if (a === 0) continue
        ink.painted++
        if (a > 64 && Math.max(r, g, b) - Math.min(r, g, b) > 48) ink.coloured++
        seen.add(((r >> 4) << 12) | ((g >> 4) << 8) | ((b >> 4) << 4) | (a >> 4))
      }
      ink.colours = seen.size
      return ink
    })
  })()`)
}
