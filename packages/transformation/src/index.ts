export { DEFAULT_TRANSFORMATION_COMPILER_OPTIONS, MAX_DOCUMENT_DEPTH, TransformationCompiler, transformationId } from './transformation-compiler.js';
export type { CompiledTransformation, TransformationCompilerOptions, TransformationValidation } from './transformation-compiler.js';
export type { TransformationLimits } from './transformation-document.js';
