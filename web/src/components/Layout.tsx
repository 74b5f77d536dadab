// The frame of every view: navigation, the live connection indicator, the theme switch.
import { useEffect, useState, type ReactNode } from 'react';
import { NavLink } from 'react-router';
import { signOut, useSession } from '../api/session';
import type { LiveState } from '../live/connection';
import { useLiveState } from '../live/LiveProvider';
import { applyTheme, loadPref, savePref, type ThemePref } from '../lib/theme';

const LIVE_TEXT: Record<LiveState, string> = {
  connecting: 'Connecting',
  live: 'Live',
  reconnecting: 'Reconnecting',
  offline: 'Offline',
};

const LIVE_HELP: Record<LiveState, string> = {
  connecting: 'Opening the live stream…',
  live: 'Changes appear as they happen.',
  reconnecting: 'The live stream dropped; reconnecting. Changes made meanwhile will be caught up.',
  offline: 'The server cannot be reached. Retrying in the background; what you see may be out of date.',
};

export function ConnectionIndicator() {
  const state = useLiveState();
  return (
    <span className={`live live-${state}`} role="status" aria-live="polite" title={LIVE_HELP[state]} data-testid="connection">
      <span className="live-dot" />
      {LIVE_TEXT[state]}
    </span>
  );
}

const NEXT: Record<ThemePref, ThemePref> = { system: 'light', light: 'dark', dark: 'system' };

export function ThemeToggle() {
  const [pref, setPref] = useState<ThemePref>(loadPref);
  useEffect(() => applyTheme(pref), [pref]);
  const label = { system: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' }[pref];
  return (
    <button
      type="button"
      className="btn btn-ghost btn-small"
      onClick={() => {
        const next = NEXT[pref];
        savePref(next);
        setPref(next);
      }}
      title={`${label} (click to change)`}
      aria-label={label}
    >
      {pref === 'system' ? '◐' : pref === 'light' ? '☀' : '☾'} <span className="hide-narrow">{pref}</span>
    </button>
  );
}

function User() {
  const session = useSession();
  if (!session.data) return null;
  const s = session.data;
  return (
    <span className="user">
      <span title={`${s.method} · ${s.role}${s.expiresAt ? ' · until ' + new Date(s.expiresAt).toLocaleString() : ''}`}>
        {s.subject} <span className="role">{s.role}</span>
      </span>
      {s.authEnabled && (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => void signOut()}>
          Sign out
        </button>
      )}
    </span>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const session = useSession();
  const admin = session.data?.role === 'admin';
  return (
    <div className="app">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="flux-orchestrator home">
          <svg width="20" height="20" viewBox="0 0 32 32" aria-hidden="true">
            <rect width="32" height="32" rx="6" className="brand-bg" />
            <path d="M8 10h16M8 16h11M8 22h7" stroke="#fff" strokeWidth="3" strokeLinecap="round" />
          </svg>
          <span>flux-orchestrator</span>
        </NavLink>
        <nav className="nav" aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/resources">Resources</NavLink>
          <NavLink to="/workloads">Workloads</NavLink>
          <NavLink to="/timeline">Timeline</NavLink>
          <NavLink to="/rollouts">Rollouts</NavLink>
          <NavLink to="/reliability">Reliability</NavLink>
          <NavLink to="/clusters">Clusters</NavLink>
          <NavLink to="/notifications">Notifications</NavLink>
          {admin && <NavLink to="/tokens">Tokens</NavLink>}
          {admin && <NavLink to="/audit">Audit</NavLink>}
        </nav>
        <div className="topbar-right">
          <ConnectionIndicator />
          <ThemeToggle />
          <User />
        </div>
      </header>
      {session.data?.warning && (
        <div className="banner" role="alert">
          {session.data.warning}
        </div>
      )}
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}
