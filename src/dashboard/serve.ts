/**
 * @module dashboard/serve
 * Serves the built dashboard (`build.ts`) on the server's HTTP port: `GET /` is the page and
 * `GET /dashboard/assets/<name>` its content-hashed files. Nothing else under `/` is taken, so
 * `/v1/…`, `/healthz`, `/metrics`, `/socket.io/` and `/mqtt` keep their own routes.
 *
 * The site is read into memory once at start (a few hundred KiB) with a gzipped copy of each
 * file, so a request never touches the disk and no path from a request ever reaches the file
 * system: names are looked up in a map of what the build wrote.
 *
 * Headers: the page is `no-cache` (revalidated with its ETag, so a new build shows at once),
 * assets are `immutable` for a year (their names change with their content), every answer has
 * `nosniff`, and the page a Content-Security-Policy that allows exactly what the app does:
 * scripts, styles and connections (HTTP API, WebSocket) to its own origin, nothing inline,
 * no frames.
 *
 * @example
 * const site = await DashboardSite.load(DEFAULT_SITE_DIR);
 * if (site.handles(req)) site.serve(req, res);
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { TributaryError } from '../errors.js';
import { sendError } from '../server/front/http/respond.js';

/** Where `npm run build` writes the site: `dist/dashboard/site/` beside the compiled server. */
export const DEFAULT_SITE_DIR = fileURLToPath(new URL('./site/', import.meta.url));

/** URL prefix of the built assets. */
export const ASSETS_PATH = '/dashboard/assets/';

/**
 * `connect-src 'self'` covers the page's own `ws:`/`wss:` origin (CSP Level 3); `data:` images
 * are the favicon. uPlot and Preact set styles through the CSSOM, which `style-src` allows.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

interface SiteFile {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

export class DashboardSite {
  private constructor(
    private readonly page: SiteFile,
    private readonly assets: ReadonlyMap<string, SiteFile>,
  ) {}

  /** Reads the site built into `dir`; null when there is none (the dashboard was not built). */
  static async load(dir: string): Promise<DashboardSite | null> {
    let html: Buffer;
    try {
      html = await readFile(join(dir, 'index.html'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const page = siteFile(html, {
      ...COMMON_HEADERS,
      'content-type': CONTENT_TYPES['.html']!,
      'cache-control': 'no-cache',
      etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 22)}"`,
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-frame-options': 'DENY',
    });
    const assets = new Map<string, SiteFile>();
    const assetsDir = join(dir, 'assets');
    for (const name of await readdir(assetsDir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (type === undefined) continue;
      assets.set(
        name,
        siteFile(await readFile(join(assetsDir, name)), {
          ...COMMON_HEADERS,
          'content-type': type,
          'cache-control': 'public, max-age=31536000, immutable',
        }),
      );
    }
    return new DashboardSite(page, assets);
  }

  /** Whether `path` (without the query) is the dashboard's: `/` or under {@link ASSETS_PATH}. */
  static owns(path: string): boolean {
    return path === '/' || path.startsWith(ASSETS_PATH);
  }

  /**
   * Answers a GET or HEAD of a path `owns` accepted with the file or 304; false (nothing sent)
   * when there is no such file, for the caller's usual 404.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    const file = path === '/' ? this.page : this.assets.get(path.slice(ASSETS_PATH.length));
    if (file === undefined) return false;
    const etag = file.headers.etag;
    if (etag !== undefined && req.headers['if-none-match'] === etag) {
      res.writeHead(304, { etag, 'cache-control': file.headers['cache-control']! });
      res.end();
      return true;
    }
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const body = gzip ? file.gzip : file.body;
    res.writeHead(200, {
      ...file.headers,
      ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      vary: 'accept-encoding',
      'content-length': body.byteLength,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}

/** What `/` answers when the dashboard was not built (a checkout where only `tsc` ran): 404. */
export function serveNotBuilt(res: ServerResponse): string {
  return sendError(
    res,
    new TributaryError('NOT_FOUND', {
      what: 'GET / (the dashboard is not built: run `npm run build`; the HTTP API is under /v1/)',
    }),
  );
}

function siteFile(body: Buffer, headers: Readonly<Record<string, string>>): SiteFile {
  return { body, gzip: gzipSync(body, { level: 9 }), headers };
}

/** True when `Accept-Encoding` lists gzip without `q=0`. */
function acceptsGzip(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip') return false;
    return !params.some((param) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(param));
  });
}
