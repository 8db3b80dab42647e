#!/usr/bin/env node
// Runs the trainer CLI from its TypeScript sources (no build step needed after `npm ci`).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
