// The one live connection to `GET /api/v1/stream` (docs/streaming.md). Views subscribe to it;
// nothing else opens a socket. It reconnects with backoff, resumes from the last seq it saw
// (so no change is lost or repeated), and asks its subscribers to refetch when the server says
// `resync` — and after the first subscription, so REST data fetched before the stream started
// cannot miss a change committed in between.
import type { ChangeMessage, ClusterMessage, ServerMessage, SubscribeMessage } from '../api/types';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveHandlers {
  change?(m: ChangeMessage): void;
  cluster?(m: ClusterMessage): void;
  /**
   * Local data may be stale or incomplete: refetch it over REST. `head` is the seq the stream
   * resumed at: changes up to it come only from REST, later ones from the stream.
   */
  refetch?(head: number): void;
}

/** What the connection needs of a WebSocket (a real one, or a fake in tests). */
export interface SocketLike {
  onopen: ((ev: Event) => void) | null;
  onmessage: ((ev: MessageEvent) => void) | null;
  onclose: ((ev: CloseEvent) => void) | null;
  onerror: ((ev: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface LiveOptions {
  url: string;
  socket?: (url: string) => SocketLike;
  /** First retry delay; doubles up to `maxBackoffMs`, with ±20 % jitter. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** No message (not even a heartbeat) for this long: the connection is dead, reconnect. */
  silenceTimeoutMs?: number;
  /** Disconnected for this long: show "offline" instead of "reconnecting". */
  offlineAfterMs?: number;
  random?: () => number;
}

export class LiveConnection {
  private readonly opts: Required<LiveOptions>;
  private ws: SocketLike | null = null;
  private handlers = new Set<LiveHandlers>();
  private stateListeners = new Set<(s: LiveState) => void>();
  private _state: LiveState = 'connecting';
  private _lastSeq: number | null = null;
  private needRefetch = true;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private silenceTimer: ReturnType<typeof setTimeout> | undefined;
  private offlineTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;

  constructor(opts: LiveOptions) {
    this.opts = {
      socket: (url) => new WebSocket(url),
      initialBackoffMs: 500,
      maxBackoffMs: 10_000,
      silenceTimeoutMs: 40_000,
      offlineAfterMs: 15_000,
      random: Math.random,
      ...opts,
    };
  }

  get state(): LiveState {
    return this._state;
  }

  /** The highest seq seen: every change up to it has been delivered. */
  get lastSeq(): number | null {
    return this._lastSeq;
  }

  subscribe(handlers: LiveHandlers): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }

  onState(listener: (s: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.silenceTimer);
    clearTimeout(this.offlineTimer);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'bye');
  }

  /** Reconnect now (e.g. the browser came back online) instead of waiting for the backoff. */
  retryNow(): void {
    if (this.stopped || this.ws) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  private open(): void {
    let ws: SocketLike;
    try {
      ws = this.opts.socket(this.opts.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      const msg: { type: 'subscribe' } & SubscribeMessage = { type: 'subscribe' };
      if (this._lastSeq !== null) msg.since = this._lastSeq;
      ws.send(JSON.stringify(msg));
      this.armSilence();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      this.armSilence();
      let msg: ServerMessage;
      try {
        msg = JSON.parse(String(ev.data)) as ServerMessage;
      } catch {
        return;
      }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearTimeout(this.silenceTimer);
      if (!this.stopped) this.scheduleRetry();
    };
    ws.onerror = () => {
      // onclose follows and does the work.
    };
  }

  private handle(msg: ServerMessage): void {
    switch (msg.type) {
      case 'change':
        if (this._lastSeq !== null && msg.seq <= this._lastSeq) return;
        this._lastSeq = msg.seq;
        for (const h of this.handlers) h.change?.(msg);
        return;
      case 'cluster':
        for (const h of this.handlers) h.cluster?.(msg);
        return;
      case 'subscribed':
        this.advance(msg.seq);
        this.attempt = 0;
        clearTimeout(this.offlineTimer);
        this.setState('live');
        if (this.needRefetch) {
          this.needRefetch = false;
          for (const h of this.handlers) h.refetch?.(msg.seq);
        }
        return;
      case 'heartbeat':
        this.advance(msg.seq);
        return;
      case 'resync':
        // The subscription ended and what we hold may have gaps: start again at the live
        // head (subscribe without `since`), then refetch once it is confirmed.
        this._lastSeq = null;
        this.needRefetch = true;
        this.ws?.send(JSON.stringify({ type: 'subscribe' }));
        return;
      case 'error':
        // A refused subscribe keeps the old subscription; `database_unavailable` is followed
        // by a close, and the reconnect resumes from the last seq.
        return;
    }
  }

  private advance(seq: number): void {
    if (this._lastSeq === null || seq > this._lastSeq) this._lastSeq = seq;
  }

  private armSilence(): void {
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      const ws = this.ws;
      if (!ws) return;
      this.ws = null;
      ws.close(4000, 'silent');
      this.scheduleRetry();
    }, this.opts.silenceTimeoutMs);
  }

  private scheduleRetry(): void {
    if (this._state !== 'offline') this.setState(this._state === 'connecting' ? 'connecting' : 'reconnecting');
    if (this.attempt === 0) {
      clearTimeout(this.offlineTimer);
      this.offlineTimer = setTimeout(() => this.setState('offline'), this.opts.offlineAfterMs);
    }
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** this.attempt);
    const delay = base * (0.8 + 0.4 * this.opts.random());
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (!this.stopped && !this.ws) this.open();
    }, delay);
  }

  private setState(s: LiveState): void {
    if (s === this._state) return;
    this._state = s;
    for (const l of this.stateListeners) l(s);
  }
}

/** The stream's URL for the page's origin (`ws:` or `wss:` like the page). */
export function streamUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/v1/stream`;
}
