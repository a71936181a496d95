type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when `value`'s type is exactly `Expected` (not `any`, not wider). */
export function exactly<Expected>() {
  return <Actual>(
    _value: Actual,
    ..._exact: Equal<Actual, Expected> extends true ? [] : [never]
  ) => {};
}
