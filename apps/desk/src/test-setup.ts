/** Vitest runs without globals, so Testing Library cannot unmount rendered trees by itself. */
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(cleanup);
