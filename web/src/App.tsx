// Routes. Each view is its own chunk, loaded when first visited.
import { lazy, Suspense, useEffect } from 'react';
import { Route, Routes, useLocation, useNavigate } from 'react-router';
import { setUnauthorizedHandler } from './api/client';
import { Layout } from './components/Layout';
import { Empty, Skeleton } from './components/ui';

const Overview = lazy(() => import('./views/Overview'));
const Resources = lazy(() => import('./views/Resources'));
const ResourceDetail = lazy(() => import('./views/ResourceDetail'));
const ResourceByRef = lazy(() => import('./views/ResourceDetail').then((m) => ({ default: m.ResourceByRef })));
const Clusters = lazy(() => import('./views/Clusters'));
const Login = lazy(() => import('./views/Login'));

function useUnauthorizedRedirect() {
  const navigate = useNavigate();
  const location = useLocation();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (window.location.pathname === '/login') return;
      const next = window.location.pathname + window.location.search;
      navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    });
  }, [navigate, location]);
}

export function App() {
  useUnauthorizedRedirect();
  const { pathname } = useLocation();
  if (pathname === '/login') {
    return (
      <Suspense fallback={null}>
        <Login />
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
          <Route path="/clusters" element={<Clusters />} />
          <Route path="/clusters/new" element={<Clusters mode="new" />} />
          <Route path="/clusters/:id/edit" element={<Clusters mode="edit" />} />
          <Route path="*" element={<Empty title="Page not found">Check the address, or start from the overview.</Empty>} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
