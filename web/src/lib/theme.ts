// Dark and light themes: follow the OS unless the user picked one (kept in localStorage).
export type ThemePref = 'system' | 'light' | 'dark';
const KEY = 'fluxo.theme';

export function loadPref(): ThemePref {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'system';
  } catch {
    return 'system';
  }
}

export function savePref(p: ThemePref): void {
  try {
    if (p === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, p);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

export function resolve(p: ThemePref, prefersDark: boolean): 'light' | 'dark' {
  return p === 'system' ? (prefersDark ? 'dark' : 'light') : p;
}

export function applyTheme(p: ThemePref): void {
  const dark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
  document.documentElement.dataset.theme = resolve(p, dark);
}

/** Re-apply the theme when the OS switches between light and dark (for the "system" choice). */
export function followSystem(): void {
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(loadPref()));
}
