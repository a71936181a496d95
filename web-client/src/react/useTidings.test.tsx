// @vitest-environment happy-dom
import { renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it, vi } from 'vitest';
import { TidingsProvider } from './TidingsProvider.js';
import { fakeTidings } from './testing.js';
import { useTidings } from './useTidings.js';

describe('useTidings', () => {
  it('returns the provider client', () => {
    const { tidings } = fakeTidings();
    const wrapper = ({ children }: { children: ReactNode }) => (
      <TidingsProvider tidings={tidings}>{children}</TidingsProvider>
    );
    const { result } = renderHook(() => useTidings(), { wrapper });
    expect(result.current).toBe(tidings);
  });

  it('explains how to fix a missing provider', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => renderHook(() => useTidings())).toThrow(/useTidings\(\) needs a Tidings client/);
  });
});
