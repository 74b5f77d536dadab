import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveConnection, streamUrl, type SocketLike } from './connection';

class FakeSocket implements SocketLike {
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  sent: unknown[] = [];
  closed = false;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.closed = true;
  }
  open() {
    this.onopen?.(new Event('open'));
  }
  receive(msg: object) {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(msg) }));
  }
  drop() {
    this.onclose?.(new CloseEvent('close'));
  }
}

const change = (seq: number) => ({
  type: 'change',
  seq,
  at: '2025-01-01T00:00:00Z',
  clusterId: 'c',
  resourceId: 'r' + seq,
  apiGroup: 'g',
  kind: 'Kustomization',
  namespace: 'ns',
  name: 'n',
  op: 'upsert',
});

describe('LiveConnection', () => {
  let sockets: FakeSocket[];
  let live: LiveConnection;
  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    live = new LiveConnection({
      url: 'ws://x/api/v1/stream',
      socket: () => {
        const s = new FakeSocket();
        sockets.push(s);
        return s;
      },
      random: () => 0.5,
    });
  });
  afterEach(() => {
    live.stop();
    vi.useRealTimers();
  });

  it('subscribes from the live head, goes live and asks for a refetch once', () => {
    const refetch = vi.fn();
    const states: string[] = [];
    live.subscribe({ refetch });
    live.onState((s) => states.push(s));
    live.start();
    sockets[0]!.open();
    expect(sockets[0]!.sent).toEqual([{ type: 'subscribe' }]);
    sockets[0]!.receive({ type: 'subscribed', seq: 10 });
    expect(states).toEqual(['live']);
    expect(refetch).toHaveBeenCalledOnce();
    expect(refetch).toHaveBeenCalledWith(10); // the head: changes up to it come from REST
    expect(live.lastSeq).toBe(10);
  });

  it('resumes after a drop from the last seq without refetching or repeating', () => {
    const changes: number[] = [];
    const refetch = vi.fn();
    const states: string[] = [];
    live.subscribe({ change: (m) => changes.push(m.seq), refetch });
    live.onState((s) => states.push(s));
    live.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: 'subscribed', seq: 10 });
    sockets[0]!.receive(change(11));
    sockets[0]!.receive(change(12));
    sockets[0]!.drop();
    expect(live.state).toBe('reconnecting');
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(2);
    sockets[1]!.open();
    expect(sockets[1]!.sent).toEqual([{ type: 'subscribe', since: 12 }]);
    sockets[1]!.receive(change(12)); // a duplicate is ignored
    sockets[1]!.receive(change(13));
    sockets[1]!.receive({ type: 'subscribed', seq: 13 });
    expect(changes).toEqual([11, 12, 13]);
    expect(refetch).toHaveBeenCalledOnce();
    expect(states).toEqual(['live', 'reconnecting', 'live']);
  });

  it('backs off exponentially and reports offline after a while', () => {
    live.start();
    sockets[0]!.drop();
    vi.advanceTimersByTime(499);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    sockets[1]!.drop();
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    expect(live.state).toBe('connecting');
    vi.advanceTimersByTime(15_000);
    expect(live.state).toBe('offline');
  });

  it('on resync starts again at the head and refetches once subscribed', () => {
    const refetch = vi.fn();
    live.subscribe({ refetch });
    live.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: 'subscribed', seq: 5 });
    sockets[0]!.receive({ type: 'resync', reason: 'slow' });
    expect(sockets[0]!.sent.at(-1)).toEqual({ type: 'subscribe' });
    expect(live.lastSeq).toBeNull();
    sockets[0]!.receive({ type: 'subscribed', seq: 900 });
    expect(refetch).toHaveBeenCalledTimes(2);
    expect(live.lastSeq).toBe(900);
  });

  it('treats a silent connection as dead and reconnects', () => {
    live.start();
    sockets[0]!.open();
    sockets[0]!.receive({ type: 'subscribed', seq: 1 });
    vi.advanceTimersByTime(40_000);
    expect(sockets[0]!.closed).toBe(true);
    vi.advanceTimersByTime(500);
    expect(sockets).toHaveLength(2);
  });

  it('builds the stream URL from the page', () => {
    expect(streamUrl({ protocol: 'https:', host: 'a:1' })).toBe('wss://a:1/api/v1/stream');
    expect(streamUrl({ protocol: 'http:', host: 'a' })).toBe('ws://a/api/v1/stream');
  });
});
