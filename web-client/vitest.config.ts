// Unit tests (src/**/*.test.ts[x]) and type tests (src/**/*.test-d.ts) of the web client. The
// core's tests run in Node; the hooks' tests ask for happy-dom in their first line.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    typecheck: {
      include: ['src/**/*.test-d.{ts,tsx}'],
      tsconfig: './tsconfig.json',
    },
    restoreMocks: true,
  },
});
