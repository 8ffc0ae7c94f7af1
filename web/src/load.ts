// useLoad: the data of a view, loaded again on demand or (coalesced) when a
// live event says it changed.
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/** useLoad runs fn when deps change and whenever reload is called. */
export function useLoad<T>(fn: () => Promise<T> | undefined, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const gen = useRef(0);
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const run = useCallback(() => {
    const p = fn();
    const mine = ++gen.current;
    if (!p) {
      setState({ loading: false });
      return;
    }
    setState((s) => ({ ...s, loading: true }));
    p.then(
      (data) => mine === gen.current && setState({ data, loading: false }),
      (error: Error) => mine === gen.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    run();
    return () => clearTimeout(pending.current);
  }, [run]);
  // Live events arrive in bursts (a rollout touches an application many
  // times a second): load at most once per 300 ms.
  const reload = useCallback(() => {
    if (pending.current) return;
    pending.current = setTimeout(() => {
      pending.current = undefined;
      run();
    }, 300);
  }, [run]);
  return { ...state, reload };
}
