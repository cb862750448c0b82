#!/usr/bin/env node
import { main } from './main.js';

// Write errors (EPIPE when piped into `head`) reach `main` through the write callbacks; without a
// listener the same error, emitted as an event, would crash the process with a stack trace.
process.stdout.on('error', () => undefined);

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  isTTY: process.stderr.isTTY,
});
