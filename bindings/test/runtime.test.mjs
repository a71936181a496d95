// The committed package works in Node ESM as it is: no build step.

import assert from "node:assert/strict";
import { test } from "node:test";

import { UPDATE_QUERY_MAP, UPDATE_TYPES } from "@tidings/bindings";

test("UPDATE_QUERY_MAP has one entry per update type, in the same order", () => {
  assert.deepEqual(Object.keys(UPDATE_QUERY_MAP), [...UPDATE_TYPES]);
  assert.ok(UPDATE_TYPES.includes("volumes"));
  assert.ok(UPDATE_QUERY_MAP.volumes.includes("volumes.getAll"));
});

test("the map lists query paths, sorted, and cannot be changed", () => {
  for (const paths of Object.values(UPDATE_QUERY_MAP)) {
    assert.deepEqual([...paths], [...paths].sort());
    assert.ok(Object.isFrozen(paths));
  }
  assert.ok(Object.isFrozen(UPDATE_QUERY_MAP));
  assert.ok(Object.isFrozen(UPDATE_TYPES));
});
