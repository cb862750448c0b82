export { DEFAULT_TRANSFORMATION_COMPILER_OPTIONS, MAX_DOCUMENT_DEPTH, TransformationCompiler, transformationId } from './transformation-compiler.js';
export type { CompiledTransformation, TransformationCompilerOptions, TransformationValidation } from './transformation-compiler.js';
export type { TransformationLimits } from './transformation-document.js';
export {
  MAX_COMBINATOR_WIDTH,
  MAX_ENUM_VALUES,
  MAX_EXPANDED_SUBSCHEMAS,
  MAX_PATTERN_LENGTH,
  MAX_PATTERN_SIZE,
  MAX_RECURSIVE_DATA_DEPTH,
  MAX_SCHEMA_BYTES,
  MAX_SCHEMA_DEPTH,
  MAX_SCHEMA_PATTERNS,
  MAX_SUBSCHEMAS,
  MAX_TOTAL_PATTERN_SIZE,
} from './json-schema-bounds.js';
export { MAX_VALIDATION_ERRORS, MIN_VALIDATION_WORK, VALIDATION_WORK_PER_DATA_UNIT } from './json-schema.js';
