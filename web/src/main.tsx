import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiError } from './api/client';
import { App } from './App';
import { applyTheme, followSystem, loadPref } from './lib/theme';
import { LiveProvider } from './live/LiveProvider';
import './styles.css';

applyTheme(loadPref());
followSystem();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Live updates keep the cache fresh; refetching on focus would only add load.
      staleTime: 60_000,
      refetchOnWindowFocus: false,
      retry: (count, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && count < 2,
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <LiveProvider>
          <App />
        </LiveProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
