export { createEngine } from './engine.js';
export type { Engine, EngineOptions, RunOptions, Tenant, TransformationSource } from './engine.js';
export { tightenLimits } from './limits.js';
