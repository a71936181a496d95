/**
 * The React context carrying the wired client, and the lookup the hooks share: an explicit
 * client wins, else the provider's, else an error saying how to fix it.
 */
import { createContext, useContext } from 'react';
import type { Tidings } from './createTidings.js';

/** The provider's client. */
export const TidingsContext = createContext<Tidings | null>(null);

/** The provider's client, or `null` outside one. */
export function useOptionalTidings(): Tidings | null {
  return useContext(TidingsContext);
}

/** The error a hook throws outside a provider without an explicit client. */
export function missingProvider(hook: string): Error {
  return new Error(
    `${hook}() needs a Tidings client: wrap the app in <TidingsProvider> ` +
      `(e.g. <TidingsProvider url="/trpc"><App /></TidingsProvider>, from @tidings/web-client), ` +
      `or pass one explicitly: ${hook}(…, { client }).`,
  );
}
