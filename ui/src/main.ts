import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

// Content-Security-Policy violations since the page loaded (the policy has no
// 'unsafe-inline'): logged, and kept where the end-to-end test reads them to assert that
// there are none.
const cspViolations: string[] = [];
document.addEventListener('securitypolicyviolation', (event) => {
  const what = `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} at ${event.sourceFile}:${event.lineNumber}`;
  cspViolations.push(what);
  console.error(`Content-Security-Policy: ${what}`);
});
Object.defineProperty(window, '__keywrightCspViolations', { value: cspViolations });

const target = document.getElementById('app');
if (!target) throw new Error('missing #app element');

export default mount(App, { target });
