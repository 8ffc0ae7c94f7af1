// Who is signed in, the scope they are looking at, and what they may do there.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, must, whenUnauthenticated, type Schemas } from './api/client';
import { chooseLanguage, languageOf } from './i18n';

type WhoAmI = Schemas['WhoAmI'];

export interface Scope {
  tenant?: string;
  project?: string;
  environment?: string;
}

interface Session {
  me?: WhoAmI;
  checked: boolean;
  expired: boolean;
  scope: Scope;
  setScope: (s: Scope) => void;
  signedIn: (me: WhoAmI) => void;
  signOut: () => Promise<void>;
}

const SessionContext = createContext<Session>({} as Session);
const scopeKey = 'berth.scope';

function savedScope(): Scope {
  try {
    return JSON.parse(localStorage.getItem(scopeKey) ?? '{}') as Scope;
  } catch {
    return {};
  }
}

/** SessionProvider finds out whether a session exists and keeps the scope. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<WhoAmI>();
  const [checked, setChecked] = useState(false);
  const [expired, setExpired] = useState(false);
  const [scope, setScopeState] = useState<Scope>(savedScope);
  const meRef = useRef<WhoAmI | undefined>(undefined);
  meRef.current = me;

  useEffect(() => {
    whenUnauthenticated(() => {
      if (meRef.current) setExpired(true);
      setMe(undefined);
    });
    api.GET('/api/v1/whoami').then(({ data }) => {
      if (data) signedInAs(data);
      setChecked(true);
    }, () => setChecked(true));
  }, []);

  const signedInAs = (who: WhoAmI) => {
    setMe(who);
    setExpired(false);
    const lang = languageOf(who.user?.name ?? '');
    if (lang) void chooseLanguage(lang, who.user?.name);
  };
  const setScope = useCallback((s: Scope) => {
    localStorage.setItem(scopeKey, JSON.stringify(s));
    setScopeState(s);
  }, []);
  const signOut = async () => {
    await api.POST('/api/v1/logout');
    setMe(undefined);
  };
  return (
    <SessionContext.Provider value={{ me, checked, expired, scope, setScope, signedIn: signedInAs, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

/** useSession returns the session. */
export function useSession() {
  return useContext(SessionContext);
}

const permissionCache = new Map<string, Promise<string[]>>();

/** forgetPermissions drops what was learnt about the caller's permissions. */
export function forgetPermissions() {
  permissionCache.clear();
}

/**
 * usePermissions returns what the caller may do at a scope, as the server
 * answers it (GET /whoami/permissions): undefined while it is being asked.
 */
export function usePermissions(tenant?: string, project?: string) {
  const [perms, setPerms] = useState<Set<string>>();
  useEffect(() => {
    const key = `${tenant ?? ''}/${project ?? ''}`;
    let p = permissionCache.get(key);
    if (!p) {
      p = must(api.GET('/api/v1/whoami/permissions', { params: { query: { tenant, project } } })).then(
        (r) => (r.permissions ?? []) as string[],
      );
      permissionCache.set(key, p);
      p.catch(() => permissionCache.delete(key));
    }
    let live = true;
    p.then((list) => live && setPerms(new Set(list)), () => live && setPerms(new Set()));
    return () => void (live = false);
  }, [tenant, project]);
  return perms;
}
