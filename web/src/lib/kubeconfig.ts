// Reading a pasted or uploaded kubeconfig in the browser, only to offer its contexts. The server
// does the real checks (and its messages are shown next to the field).
import { parse } from 'yaml';

export interface KubeconfigInfo {
  contexts: string[];
  current: string | null;
}

export function kubeconfigContexts(text: string): KubeconfigInfo | { error: string } {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return { error: 'Not valid YAML: ' + (e instanceof Error ? e.message.split('\n')[0] : String(e)) };
  }
  if (!doc || typeof doc !== 'object') return { error: 'Not a kubeconfig: expected a YAML mapping.' };
  const d = doc as { contexts?: unknown; 'current-context'?: unknown };
  const contexts = Array.isArray(d.contexts)
    ? d.contexts.map((c: unknown) => (c && typeof c === 'object' && 'name' in c ? String((c as { name: unknown }).name) : '')).filter(Boolean)
    : [];
  if (contexts.length === 0) return { error: 'No contexts found in this kubeconfig.' };
  const current = typeof d['current-context'] === 'string' && contexts.includes(d['current-context']) ? d['current-context'] : null;
  return { contexts, current };
}
