/**
 * @tidings/web-client: keep tRPC queries current from Tidings' one update stream, with either
 * tRPC React integration. With the recommended `@trpc/tanstack-react-query`:
 *
 * ```tsx
 * const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();
 * function App() {
 *   useSSEUpdates();
 *   return <Projects />;
 * }
 * function Projects() {
 *   const trpc = useTRPC();
 *   const projects = useQuery(trpc.projects.getAll.queryOptions());
 *   useAutoRefetch('projects');
 *   …
 * }
 * createRoot(el).render(
 *   <TidingsProvider url="/trpc" TRPCProvider={TRPCProvider}><App /></TidingsProvider>,
 * );
 * ```
 *
 * With the classic `@trpc/react-query`: `const trpc = createTRPCReact<AppRouter>()`,
 * `<TidingsProvider url="/trpc" trpc={trpc}>` and `trpc.projects.getAll.useQuery()`. The
 * framework-free core alone is `@tidings/web-client/core`.
 */
export * from './react/index.js';
export * from './core/index.js';
