// The console's entry: one TidingsProvider (relative /trpc, so it works wherever the BFF serves
// it) around the app.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TidingsProvider } from '../../src';
import { App } from './App';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <TidingsProvider url="/trpc">
      <App />
    </TidingsProvider>
  </StrictMode>,
);
