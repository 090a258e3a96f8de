/**
 * @module server/front/http/router
 * A tiny router: routes are `METHOD /path/{param}/…` patterns matched segment by segment.
 * A path that matches no pattern is `NOT_FOUND`; a path that matches with another method is
 * `METHOD_NOT_ALLOWED`, with an `Allow` header listing the methods it has. `HEAD` is answered by `GET` routes (Node drops the body).
 *
 * @example
 * const router = new Router<Ctx>();
 * router.add('GET', '/v1/topics/{topic}', describeTopic);
 * const match = router.match('GET', '/v1/topics/orders'); // { handler, params: { topic: 'orders' } }
 */
import { TributaryError } from '../../../errors.js';

export type Params = Readonly<Record<string, string>>;

interface Route<H> {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: H;
}

export type RouteMatch<H> =
  | { readonly kind: 'found'; readonly handler: H; readonly params: Params; readonly pattern: string }
  | { readonly kind: 'method'; readonly allow: readonly string[]; readonly pattern: string }
  | { readonly kind: 'none' };

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, pattern, segments: split(pattern), handler });
    return this;
  }

  /** Matches a request; throws `MALFORMED_DATA` for a path with bad percent-encoding. */
  match(method: string, path: string): RouteMatch<H> {
    const segments = split(path);
    const allow: string[] = [];
    let pattern: string | undefined;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (params === undefined) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { kind: 'found', handler: route.handler, params, pattern: route.pattern };
      }
      allow.push(route.method);
      pattern ??= route.pattern;
    }
    if (pattern !== undefined) return { kind: 'method', allow, pattern };
    return { kind: 'none' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchSegments(pattern: readonly string[], actual: readonly string[]): Params | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = actual[i]!;
    if (want.startsWith('{') && want.endsWith('}')) {
      params[want.slice(1, -1)] = decodeSegment(got);
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new TributaryError('MALFORMED_DATA', {
      what: 'URL path',
      reason: `bad percent-encoding in "${segment}"`,
    });
  }
}
