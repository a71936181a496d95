/**
 * @tidings/web-client: keep tRPC queries current from Tidings' one update stream.
 *
 * ```tsx
 * function App() {
 *   useSSEUpdates();
 *   return <Projects />;
 * }
 * function Projects() {
 *   const projects = trpc.projects.getAll.useQuery();
 *   useAutoRefetch('projects');
 *   …
 * }
 * createRoot(el).render(<TidingsProvider url="/trpc"><App /></TidingsProvider>);
 * ```
 */
export * from './react';
export * from './core';
export type { AppRouter, RouterInputs, RouterOutputs, UpdateNotice, UpdateType } from './bindings';
export { UPDATE_QUERY_MAP } from './bindings';
