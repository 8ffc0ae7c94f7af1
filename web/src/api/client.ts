// The console's one way to the Berth API: a typed client generated from the
// OpenAPI document (schema.d.ts, `npm run gen:api`), with the session's CSRF
// token, the chosen language and a single place that notices an expired session.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type ApiError = Schemas['Error'] & { status: number };

const CSRF_COOKIE = 'berth_csrf';
const CSRF_HEADER = 'X-CSRF-Token';

let language = 'zh-CN';
let onUnauthenticated: () => void = () => {};

/** setLanguage makes the API answer errors in lang. */
export function setLanguage(lang: string) {
  language = lang;
}

/** whenUnauthenticated registers what to do when a call answers 401. */
export function whenUnauthenticated(f: () => void) {
  onUnauthenticated = f;
}

function cookie(name: string): string {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

const session: Middleware = {
  onRequest({ request }) {
    request.headers.set('Accept-Language', language);
    if (!['GET', 'HEAD', 'OPTIONS'].includes(request.method)) {
      request.headers.set(CSRF_HEADER, cookie(CSRF_COOKIE));
    }
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith('/api/v1/login')) onUnauthenticated();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: '/', credentials: 'same-origin' });
api.use(session);

/**
 * must unwraps an openapi-fetch answer: the data, or an ApiError carrying the
 * status, the translated message and the fields the server named.
 */
export async function must<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (!response.ok) {
    const body = (error ?? {}) as Schemas['Error'];
    throw Object.assign(new Error(body.message ?? response.statusText), { ...body, status: response.status });
  }
  return data as T;
}

/** isApiError reports whether e came from the API. */
export function isApiError(e: unknown): e is ApiError {
  return e instanceof Error && typeof (e as Partial<ApiError>).status === 'number';
}
