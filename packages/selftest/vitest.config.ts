import { beddelVitestConfig } from '../../vitest.shared.js';

export default beddelVitestConfig();
