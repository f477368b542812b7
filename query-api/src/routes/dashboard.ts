import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'

const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url))
const UPLOT_DIST = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

/** The dashboard: static files, and uPlot straight from its package so there is no build step. */
export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', index: false })
  await app.register(fastifyStatic, {
    root: UPLOT_DIST,
    prefix: '/static/vendor/',
    decorateReply: false,
    allowedPath: (path) => path === '/uPlot.esm.js' || path === '/uPlot.min.css',
  })
  app.get('/', (_req, reply) => reply.sendFile('index.html', PUBLIC_DIR))
}
