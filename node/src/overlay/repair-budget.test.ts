// The repair budget: allowances for a transfer's audience, a shared pool for askers heard later
// (with a roster, a payload's pool is for members only), and 2 bytes per NAK byte beyond.

import { test } from "node:test";
import assert from "node:assert/strict";
import { EARNED_PER_NAK_BYTE, RepairBudget } from "./repair-budget.js";

test("a payload's pool is for members only when there is a roster; a course delta's pool stays open; strangers earn 2× their NAK bytes", () => {
  const b = new RepairBudget((asker) => asker === "10.0.0.2:5000");
  b.open("payload", [], 1000, true);
  b.open("course", [], 1000, false);
  assert.equal(b.spend("payload", "10.0.0.66:40001", 500), false, "a stranger draws nothing from a payload's pool");
  assert.equal(b.spend("course", "10.0.0.66:40001", 500), true, "a course node (never a member) shares a course delta's pool");
  assert.equal(b.spend("payload", "10.0.0.2:5000", 500), true, "a member heard late shares the pool");
  b.earn("10.0.0.66:40001", 100);
  assert.equal(b.spend("payload", "10.0.0.66:40001", EARNED_PER_NAK_BYTE * 100 + 1), false);
  assert.equal(b.spend("payload", "10.0.0.66:40001", EARNED_PER_NAK_BYTE * 100), true);
  assert.equal(b.spend("payload", "10.0.0.66:40001", 1), false, "what it earned is spent");
});

test("without a roster anyone heard later shares the pool, payload or not", () => {
  const b = new RepairBudget();
  b.open("payload", [], 1000, true);
  assert.equal(b.spend("payload", "10.0.0.66:40001", 2000), true);
  assert.equal(b.spend("payload", "10.0.0.67:40001", 1), false, "one pool of 2 copies for all of them");
});
