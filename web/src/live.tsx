// One server-sent-events stream per browser tab (GET /api/v1/events) carries
// every topic the console shows; views subscribe to it with useLive. The
// stream pauses while the tab is hidden and resumes from the last event it
// saw; it backs off on errors and stops for good when the session is gone.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

/** LiveEvent is one event of the stream, as the server sends it. */
export interface LiveEvent {
  topic: 'deployments' | 'releases' | 'grayplans' | 'network' | 'audit' | 'configs';
  kind: string;
  tenant?: string;
  project?: string;
  environment?: string;
  name?: string;
  seq?: number;
}

type Listener = (e: LiveEvent | 'reset') => void;

const topics = ['deployments', 'releases', 'grayplans', 'network', 'audit', 'configs'] as const;

class Stream {
  private source?: EventSource;
  private lastId = '';
  private listeners = new Set<Listener>();
  private retry = 1000;
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  onState: (s: 'live' | 'paused' | 'stopped') => void = () => {};

  constructor(private unauthenticated: () => Promise<boolean>) {}

  subscribe(l: Listener) {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  }

  open() {
    if (this.stopped || this.source || document.hidden) return;
    const q = new URLSearchParams({ topics: topics.join(',') });
    if (this.lastId) q.set('lastEventId', this.lastId);
    const src = new EventSource(`/api/v1/events?${q}`, { withCredentials: true });
    this.source = src;
    src.onopen = () => {
      this.retry = 1000;
      this.onState('live');
    };
    const deliver = (m: MessageEvent) => {
      if (m.lastEventId) this.lastId = m.lastEventId;
      const ev = JSON.parse(m.data) as LiveEvent;
      this.listeners.forEach((l) => l(ev));
    };
    for (const t of topics) src.addEventListener(t, deliver);
    src.addEventListener('reset', () => this.listeners.forEach((l) => l('reset')));
    src.onerror = () => {
      if (src.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
      this.close();
      void this.unauthenticated().then((gone) => {
        if (gone) {
          this.stop();
          return;
        }
        this.timer = setTimeout(() => this.open(), this.retry);
        this.retry = Math.min(this.retry * 2, 30_000);
      });
    };
  }

  close() {
    clearTimeout(this.timer);
    this.source?.close();
    this.source = undefined;
  }

  pause() {
    this.close();
    this.onState('paused');
  }

  stop() {
    this.stopped = true;
    this.close();
    this.onState('stopped');
  }
}

const LiveContext = createContext<{ stream?: Stream; state: string }>({ state: 'stopped' });

/** LiveProvider holds the tab's one stream while a user is signed in. */
export function LiveProvider({ children, user }: { children: ReactNode; user?: string }) {
  const [stream, setStream] = useState<Stream>();
  const [state, setState] = useState('paused');
  useEffect(() => {
    if (!user) return;
    const s = new Stream(async () => (await fetch('/api/v1/whoami', { credentials: 'same-origin' })).status === 401);
    s.onState = setState;
    setStream(s);
    s.open();
    const visibility = () => (document.hidden ? s.pause() : s.open());
    document.addEventListener('visibilitychange', visibility);
    return () => {
      document.removeEventListener('visibilitychange', visibility);
      s.stop();
    };
  }, [user]);
  return <LiveContext.Provider value={{ stream, state }}>{children}</LiveContext.Provider>;
}

/** useLiveState says whether the stream is live, paused or stopped. */
export function useLiveState() {
  return useContext(LiveContext).state;
}

/**
 * useLive calls onEvent for every event of topic that match (and on a reset,
 * when the view should reload everything). onEvent may change between renders.
 */
export function useLive(topic: LiveEvent['topic'], match: (e: LiveEvent) => boolean, onEvent: () => void) {
  const { stream } = useContext(LiveContext);
  const latest = useRef({ match, onEvent });
  latest.current = { match, onEvent };
  useEffect(() => {
    if (!stream) return;
    return stream.subscribe((e) => {
      if (e === 'reset' || (e.topic === topic && latest.current.match(e))) latest.current.onEvent();
    });
  }, [stream, topic]);
}
