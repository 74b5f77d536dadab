// Routes. Each view is its own chunk, loaded when first visited.
import { lazy, Suspense, useEffect } from 'react';
import { Route, Routes, useLocation, useNavigate } from 'react-router';
import { setUnauthorizedHandler } from './api/client';
import { signInUrl } from './api/session';
import { Layout } from './components/Layout';
import { Empty, Skeleton } from './components/ui';

const Overview = lazy(() => import('./views/Overview'));
const Resources = lazy(() => import('./views/Resources'));
const ResourceDetail = lazy(() => import('./views/ResourceDetail'));
const ResourceByRef = lazy(() => import('./views/ResourceDetail').then((m) => ({ default: m.ResourceByRef })));
const Timeline = lazy(() => import('./views/Timeline'));
const Rollouts = lazy(() => import('./views/Rollouts'));
const Reliability = lazy(() => import('./views/Reliability'));
const Clusters = lazy(() => import('./views/Clusters'));
const Workloads = lazy(() => import('./views/Workloads'));
const Tokens = lazy(() => import('./views/Tokens'));
const Notifications = lazy(() => import('./views/Notifications'));
const Audit = lazy(() => import('./views/Audit'));
const SignIn = lazy(() => import('./views/SignIn'));

/** A 401 from any call (no session, or it expired): the sign-in view, then back here. */
function useUnauthorizedRedirect() {
  const navigate = useNavigate();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      const { pathname, search } = window.location;
      if (pathname === '/signin') return;
      navigate(signInUrl(pathname + search), { replace: true });
    });
  }, [navigate]);
}

export function App() {
  useUnauthorizedRedirect();
  const { pathname } = useLocation();
  if (pathname === '/signin') {
    return (
      <Suspense fallback={null}>
        <SignIn />
      </Suspense>
    );
  }
  return (
    <Layout>
      <Suspense fallback={<Skeleton rows={8} className="page" />}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/resources" element={<Resources />} />
          <Route path="/resources/ref/:cluster/:kind/:namespace/:name" element={<ResourceByRef />} />
          <Route path="/resources/:id" element={<ResourceDetail />} />
          <Route path="/workloads" element={<Workloads />} />
          <Route path="/timeline" element={<Timeline />} />
          <Route path="/rollouts" element={<Rollouts />} />
          <Route path="/reliability" element={<Reliability />} />
          <Route path="/clusters" element={<Clusters />} />
          <Route path="/clusters/new" element={<Clusters mode="new" />} />
          <Route path="/clusters/:id/edit" element={<Clusters mode="edit" />} />
          <Route path="/notifications" element={<Notifications />} />
          <Route path="/tokens" element={<Tokens />} />
          <Route path="/audit" element={<Audit />} />
          <Route path="*" element={<Empty title="Page not found">Check the address, or start from the overview.</Empty>} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
