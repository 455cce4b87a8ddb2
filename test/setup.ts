import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/temp.js';

// Temp folders made with tempDir() in a test file are removed when that file is done.
afterAll(removeTempDirs);
