/** `useTidings()`: the provider's wired client (its tRPC client, QueryClient and hub). */
import { missingProvider, useOptionalTidings } from './context.js';
import type { Tidings } from './createTidings.js';

/** The provider's client; throws a how-to-fix error outside a provider. */
export function useTidings(): Tidings {
  const tidings = useOptionalTidings();
  if (!tidings) throw missingProvider('useTidings');
  return tidings;
}
