/**
 * The storefront page: a `TributaryProvider` that connects to the server named in the page's
 * `?server=` parameter (the example's `main.ts` prints the full address), around the storefront.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TributaryProvider } from '../../../src/react/index.js';
import { Storefront } from './storefront.js';

const server = new URLSearchParams(location.search).get('server') ?? 'ws://127.0.0.1:7700/v1/ws';
const root = document.getElementById('root');
if (root === null) throw new Error('the page has no #root element');

createRoot(root).render(
  <StrictMode>
    <TributaryProvider connect={{ url: server, clientName: 'react-storefront' }}>
      <Storefront />
    </TributaryProvider>
  </StrictMode>,
);
