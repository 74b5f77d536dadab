// The one fetch wrapper: JSON in and out, one error type, and 401 → the login view.
import type { ErrorBody } from './types';

/** Every failed API call: the server's `{code, message}` with the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** A 410 `history_pruned` only: the oldest time the server still has history for. */
  readonly oldest?: string;
  constructor(status: number, code: string, message: string, oldest?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.oldest = oldest;
  }
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {};

/** Called once by the app: what to do when any call answers 401 (show the login view). */
export function setUnauthorizedHandler(handler: Unauthorized): void {
  onUnauthorized = handler;
}

export type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];

/** `path?query`, repeating array values (`health=failed&health=stalled`), skipping empty ones. */
export function withQuery(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      for (const v of value) params.append(key, String(v));
    } else {
      params.append(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

interface Options {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  signal?: AbortSignal;
}

/** Call the API. Resolves with the JSON body (undefined for 204); rejects with `ApiError`. */
export async function api<T>(path: string, opts: Options = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(withQuery(path, opts.query), {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server cannot be reached. Check that flux-orchestrator is running.');
  }
  if (response.status === 401) onUnauthorized();
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

async function toError(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as Partial<ErrorBody>;
    if (typeof body.code === 'string' && typeof body.message === 'string') {
      return new ApiError(response.status, body.code, body.message, body.oldest ?? undefined);
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(response.status, 'http_' + response.status, response.statusText || `HTTP ${response.status}`);
}

/** A message for any error thrown by a query or mutation. */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
