import { TidingsProvider } from '@tidings/web-client';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { TRPCProvider } from './trpc';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <TidingsProvider url="/trpc" TRPCProvider={TRPCProvider}>
      <App />
    </TidingsProvider>
  </StrictMode>,
);
