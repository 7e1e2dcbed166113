#!/usr/bin/env node
/** The package's bin: starts the command line's bundle or its modules (entry.ts says which). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliBuild } from './entry.js';

const bundle = fileURLToPath(new URL('./cli.bundle.js', import.meta.url));
await import(cliBuild(process.argv.slice(2), existsSync(bundle)));
