import { runDemo } from './demo.js';

const report = await runDemo();
process.exitCode = report.exitCode;
