// Who is signed in (GET /api/v1/session), signing in and out.
import { useQuery } from '@tanstack/react-query';
import { api } from './client';
import type { SessionInfo } from './types';

export const sessionKey = ['session'] as const;

export function useSession() {
  return useQuery({
    queryKey: sessionKey,
    queryFn: ({ signal }) => api<SessionInfo>('/api/v1/session', { signal }),
    staleTime: 5 * 60_000,
  });
}

export function signIn(token: string): Promise<SessionInfo> {
  return api<SessionInfo>('/api/v1/session', { method: 'POST', body: { token } });
}

export async function signOut(): Promise<void> {
  try {
    await api<void>('/api/v1/session', { method: 'DELETE' });
  } finally {
    window.location.assign('/signin');
  }
}

/** Where a 401 sends the user: the sign-in view, coming back to `next` afterwards. */
export function signInUrl(next: string): string {
  return next && next !== '/' && !next.startsWith('/signin') ? `/signin?next=${encodeURIComponent(next)}` : '/signin';
}

/** Only same-site paths are followed after signing in (never an open redirect). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/signin') ? next : '/';
}

/** What the signed-in role may do (the server enforces it; the UI only hides what would be refused). */
export function useCan() {
  const role = useSession().data?.role;
  return {
    /** reconcile, suspend, resume, force, reset */
    act: role === undefined || role === 'operator' || role === 'admin',
    /** clusters, tokens, audit */
    admin: role === undefined || role === 'admin',
  };
}
