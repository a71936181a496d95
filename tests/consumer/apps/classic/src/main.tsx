import { TidingsProvider } from '@tidings/web-client';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { trpc } from './trpc';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TidingsProvider url="/trpc" trpc={trpc}>
      <App />
    </TidingsProvider>
  </StrictMode>,
);
