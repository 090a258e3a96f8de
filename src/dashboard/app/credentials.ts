/**
 * @module dashboard/app/credentials
 * The credentials the dashboard sends when the server has security on: an API key or a user name
 * and password, asked for once and kept in `sessionStorage` (gone when the tab closes), used for
 * every HTTP request (`Authorization`) and for the SDK's WebSocket (`connect({ auth })`).
 */
import type { ClientAuth } from '../../client/index.js';

export type Credentials =
  | { readonly kind: 'apiKey'; readonly apiKey: string }
  | { readonly kind: 'password'; readonly username: string; readonly password: string };

const STORAGE_KEY = 'tributary.dashboard.credentials';

export function loadCredentials(): Credentials | null {
  try {
    const text = sessionStorage.getItem(STORAGE_KEY);
    if (text === null) return null;
    const value = JSON.parse(text) as Partial<Record<string, unknown>>;
    if (value.kind === 'apiKey' && typeof value.apiKey === 'string') {
      return { kind: 'apiKey', apiKey: value.apiKey };
    }
    if (
      value.kind === 'password' &&
      typeof value.username === 'string' &&
      typeof value.password === 'string'
    ) {
      return { kind: 'password', username: value.username, password: value.password };
    }
  } catch {
    // Storage off or a value from elsewhere: ask again.
  }
  return null;
}

export function saveCredentials(credentials: Credentials | null): void {
  try {
    if (credentials === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
  } catch {
    // Storage off: the credentials last as long as the page.
  }
}

/** The `Authorization` header value for `credentials`. */
export function authorizationHeader(credentials: Credentials): string {
  if (credentials.kind === 'apiKey') return `Bearer ${credentials.apiKey}`;
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** The SDK's `auth` option for `credentials`. */
export function clientAuth(credentials: Credentials): ClientAuth {
  return credentials.kind === 'apiKey'
    ? { apiKey: credentials.apiKey }
    : { username: credentials.username, password: credentials.password };
}
