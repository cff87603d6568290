// A worker thread of the viewer-analytics pool (analytics-worker-pool.ts). Worker threads do not
// inherit the main thread's module hooks, so this registers tsx itself, as bin/livepulse.js does.
import { register } from 'tsx/esm/api';

register();
await import('./analytics-worker-thread.ts');
