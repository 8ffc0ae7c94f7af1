// Everything after sign-in: the shell, the one live stream and the routes,
// loaded as its own chunk so that the sign-in page stays small. Every page is
// loaded when first visited.
import { lazy } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { LiveProvider } from './live';
import { useSession } from './session';
import { Shell } from './Shell';

const Apps = lazy(() => import('./pages/Apps'));
const AppDetail = lazy(() => import('./pages/AppDetail'));
const Releases = lazy(() => import('./pages/Releases'));
const ReleaseDetail = lazy(() => import('./pages/ReleaseDetail'));
const Gray = lazy(() => import('./pages/Gray'));
const Config = lazy(() => import('./pages/Config'));
const ConfigDetail = lazy(() => import('./pages/ConfigDetail'));
const Network = lazy(() => import('./pages/Network'));
const Audit = lazy(() => import('./pages/Audit'));
const Tenancy = lazy(() => import('./pages/Tenancy'));
const Users = lazy(() => import('./pages/Users'));
const Tokens = lazy(() => import('./pages/Tokens'));
const Clusters = lazy(() => import('./pages/Clusters'));
const Terminal = lazy(() => import('./pages/Terminal'));
const Logs = lazy(() => import('./pages/Logs'));

/** Console is the signed-in console. */
export default function Console() {
  const { me } = useSession();
  return (
    <LiveProvider user={me?.user?.name}>
      <Shell>
        <Routes>
          <Route path="/" element={<Navigate to="/apps" replace />} />
          <Route path="/apps" element={<Apps />} />
          <Route path="/apps/:app" element={<AppDetail />} />
          <Route path="/releases" element={<Releases />} />
          <Route path="/releases/:id" element={<ReleaseDetail />} />
          <Route path="/gray" element={<Gray />} />
          <Route path="/config" element={<Config />} />
          <Route path="/config/:group/:dataId" element={<ConfigDetail />} />
          <Route path="/network" element={<Network />} />
          <Route path="/audit" element={<Audit />} />
          <Route path="/logs" element={<Logs />} />
          <Route path="/tenancy" element={<Tenancy />} />
          <Route path="/users" element={<Users />} />
          <Route path="/tokens" element={<Tokens />} />
          <Route path="/clusters" element={<Clusters />} />
          <Route path="/terminal" element={<Terminal />} />
          <Route path="*" element={<Navigate to="/apps" replace />} />
        </Routes>
      </Shell>
    </LiveProvider>
  );
}
