#!/usr/bin/env node
// Livepulse is written in TypeScript and run through tsx's loader, so there is no build step
// between a checkout and a running platform.
import { register } from 'tsx/esm/api';

register();
// Before anything loads a native addon built for another Node.js.
const { requireNodeRuntime } = await import('../core/node-runtime.ts');
requireNodeRuntime();
await import('../app/cli/livepulse.ts');
