import { screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { mockApi, renderAt } from '../../test-utils';
import { sectionOf, VersionDiffView } from './VersionDiff';

const object = (interval: string, rev: string, resourceVersion = '100') => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'web', namespace: 'apps', resourceVersion },
  spec: { interval, path: './web', prune: true },
  status: { lastAppliedRevision: rev, observedGeneration: 1 },
});

const diff = {
  from: { seq: 3, at: '2025-01-01T00:00:00Z', version: 'aa', object: object('10m0s', 'main@sha1:0c2e8e1e') },
  to: { seq: 7, at: '2025-01-02T00:00:00Z', version: 'bb', summary: 'spec.interval 10m0s → 5m0s', object: object('5m0s', 'main@sha1:0c2e8e1e', '200') },
  changes: [{ path: 'spec.interval', section: 'spec', added: false, removed: false, before: '10m0s', after: '5m0s' }],
  summary: 'spec.interval 10m0s → 5m0s',
};

describe('sectionOf', () => {
  it('splits an object into spec (and other desired state), status and metadata', () => {
    const o = { ...object('1m', 'r'), data: { a: 1 } };
    expect(Object.keys(sectionOf(o, 'spec'))).toEqual(['spec', 'data']);
    expect(Object.keys(sectionOf(o, 'status'))).toEqual(['status']);
    expect(Object.keys(sectionOf(o, 'metadata'))).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(sectionOf(null, 'spec')).toEqual({});
    expect(sectionOf(o, 'metadata').metadata, 'resourceVersion is never a change').toEqual({ name: 'web', namespace: 'apps' });
  });
});

describe('VersionDiffView', () => {
  it('shows the summary, the changed fields and both sides with the changed line marked', async () => {
    const fetch = mockApi({ '/api/v1/resources/r1/diff': diff });
    const onClose = vi.fn();
    renderAt(<VersionDiffView id="r1" from={3} to={7} onClose={onClose} />);
    expect((await screen.findByTestId('diff-summary')).textContent).toBe('spec.interval 10m0s → 5m0s');
    expect(String(fetch.mock.calls[0]![0])).toContain('/api/v1/resources/r1/diff?from=3&to=7');
    const spec = screen.getByLabelText('spec: #3 and #7 side by side');
    const changed = spec.querySelectorAll('tr[data-kind=changed]');
    expect(changed.length).toBe(1);
    expect(changed[0]!.querySelector('.dl-left')!.textContent).toBe('  interval: 10m0s');
    expect(changed[0]!.querySelector('.dl-right')!.textContent).toBe('  interval: 5m0s');
    // Unchanged sections are folded shut and say so.
    expect(screen.getByText('1 field, 1 line changed')).toBeTruthy();
    const metadata = screen.getByLabelText('metadata: #3 and #7 side by side');
    expect(metadata.querySelectorAll('tr[data-kind=changed]').length, 'resourceVersion left out').toBe(0);
    const status = document.querySelector('details[data-section=status]') as HTMLDetailsElement;
    expect(status.open).toBe(false);
    expect(within(status).getByText('no changes')).toBeTruthy();
    expect((document.querySelector('details[data-section=spec]') as HTMLDetailsElement).open).toBe(true);
    screen.getByRole('button', { name: 'Close diff' }).click();
    expect(onClose).toHaveBeenCalled();
  });

  it('explains a version that is no longer kept', async () => {
    mockApi({
      '/api/v1/resources/r1/diff': () => ({ status: 410, body: { code: 'version_pruned', message: 'the version at seq 3 is no longer kept' } }),
    });
    renderAt(<VersionDiffView id="r1" to={3} onClose={() => {}} />);
    expect((await screen.findByRole('alert')).textContent).toContain('no longer kept');
  });
});
