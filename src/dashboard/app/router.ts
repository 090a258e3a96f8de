/**
 * @module dashboard/app/router
 * Routes live in the URL's fragment (`#/topics/orders`), so the server serves one page at `/`
 * and no dashboard path can shadow an API route. Links are plain `<a href>`: keyboard,
 * middle-click and the back button work as everywhere.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly view: 'topics' }
  | { readonly view: 'topic'; readonly topic: string }
  | { readonly view: 'tail'; readonly topic: string }
  | { readonly view: 'groups' }
  | { readonly view: 'collections' }
  | { readonly view: 'collection'; readonly collection: string }
  | { readonly view: 'document'; readonly collection: string; readonly key: string }
  | { readonly view: 'server' };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '')
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  const [head, a, b, c] = parts;
  switch (head) {
    case 'topics':
      if (a !== undefined && b === 'tail') return { view: 'tail', topic: a };
      return a === undefined ? { view: 'topics' } : { view: 'topic', topic: a };
    case 'groups':
      return { view: 'groups' };
    case 'collections':
      if (a === undefined) return { view: 'collections' };
      if (b === 'documents' && c !== undefined) return { view: 'document', collection: a, key: c };
      return { view: 'collection', collection: a };
    case 'server':
      return { view: 'server' };
    default:
      return { view: 'topics' };
  }
}

/** The `href` of a route. */
export function href(route: Route): string {
  const e = encodeURIComponent;
  switch (route.view) {
    case 'topics':
      return '#/topics';
    case 'topic':
      return `#/topics/${e(route.topic)}`;
    case 'tail':
      return `#/topics/${e(route.topic)}/tail`;
    case 'groups':
      return '#/groups';
    case 'collections':
      return '#/collections';
    case 'collection':
      return `#/collections/${e(route.collection)}`;
    case 'document':
      return `#/collections/${e(route.collection)}/documents/${e(route.key)}`;
    case 'server':
      return '#/server';
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
