#!/usr/bin/env node
// Runs the evaluation API from its TypeScript sources (no build step needed after `npm ci`).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
