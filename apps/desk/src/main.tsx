/** Entry: a token in the URL fragment is moved to sessionStorage (and out of the address bar) before the first render. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.view';
import { saveToken, takeFragmentToken } from './session/session';
import './styles.css';

const fromFragment = takeFragmentToken(window.location, window.history);
if (fromFragment) saveToken(window.sessionStorage, fromFragment);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App storage={window.sessionStorage} />
  </StrictMode>,
);
