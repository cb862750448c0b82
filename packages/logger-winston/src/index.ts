export { createWinstonLogger, WinstonLogger, winstonLogger } from './winston-logger.js';
export type { WinstonLoggerOptions } from './winston-logger.js';
