// The console's entry: one TidingsProvider (relative /trpc, so it works wherever the BFF serves
// it), wiring @trpc/tanstack-react-query's provider, around the session gate, which shows the
// login screen or the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TidingsProvider } from '@tidings/web-client';
import { Root } from './Root';
import { TRPCProvider } from './trpc';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <TidingsProvider url="/trpc" TRPCProvider={TRPCProvider}>
      <Root />
    </TidingsProvider>
  </StrictMode>,
);
