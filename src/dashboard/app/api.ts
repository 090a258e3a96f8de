/**
 * @module dashboard/app/api
 * The HTTP API as the dashboard calls it: JSON GETs under `/v1/` with the credentials, if any.
 * A 401 is an {@link UnauthorizedError} (the app then asks for credentials); any other error
 * answer becomes an `ApiError` carrying the server's code and message.
 */
import { authorizationHeader, type Credentials } from './credentials.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export class UnauthorizedError extends ApiError {}

export class Api {
  /** `onUnauthorized` runs on every 401 (the credentials were revoked, or are needed now). */
  constructor(
    readonly credentials: Credentials | null,
    private readonly onUnauthorized?: () => void,
  ) {}

  /** The same credentials, with `onUnauthorized` called on every 401. */
  withUnauthorized(onUnauthorized: () => void): Api {
    return new Api(this.credentials, onUnauthorized);
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.#request<T>('GET', path, undefined, signal);
  }

  async post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.#request<T>('POST', path, body, signal);
  }

  async #request<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.credentials !== null) headers.authorization = authorizationHeader(this.credentials);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init: RequestInit = { method, headers, cache: 'no-store' };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal !== undefined) init.signal = signal;
    const response = await fetch(path, init);
    if (response.ok) return (await response.json()) as T;
    let code = 'HTTP_ERROR';
    let message = `${response.status} ${response.statusText}`;
    try {
      const error = ((await response.json()) as { error?: { code?: string; message?: string } }).error;
      if (error?.code !== undefined) code = error.code;
      if (error?.message !== undefined) message = error.message;
    } catch {
      // Not JSON: keep the status line.
    }
    if (response.status === 401) {
      this.onUnauthorized?.();
      throw new UnauthorizedError(401, code, message);
    }
    throw new ApiError(response.status, code, message);
  }
}

/** Path segment escaping for names in URLs. */
export function seg(name: string): string {
  return encodeURIComponent(name);
}
