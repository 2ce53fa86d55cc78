// How a pool chooses among its serving targets. Each balancer gets the candidates (serving targets,
// never empty) and returns one; they keep whatever state they need on the targets themselves.
import { createHash } from "node:crypto";
import type { BalanceStrategy } from "../config/types.js";
import type { Target } from "./target.js";

export type Balancer = (candidates: Target[], hashKey: string | null) => Target;

/** nginx's smooth weighted round-robin: weights are honoured and picks are spread evenly over time. */
function roundRobin(candidates: Target[]): Target {
  let total = 0;
  let best = candidates[0];
  for (const target of candidates) {
    target.currentWeight += target.weight;
    total += target.weight;
    if (target.currentWeight > best.currentWeight) best = target;
  }
  best.currentWeight -= total;
  return best;
}

function load(target: Target): number {
  return target.active / target.weight;
}

/** Fewest in-flight requests per unit of weight; ties go round-robin so idle pools still spread. */
function leastConnections(candidates: Target[]): Target {
  let lowest = Infinity;
  let tied: Target[] = [];
  for (const target of candidates) {
    const value = load(target);
    if (value < lowest) {
      lowest = value;
      tied = [target];
    } else if (value === lowest) {
      tied.push(target);
    }
  }
  return tied.length === 1 ? tied[0] : roundRobin(tied);
}

/** The power of two random choices: sample two, keep the less loaded. */
function randomTwo(candidates: Target[]): Target {
  if (candidates.length === 1) return candidates[0];
  const first = Math.floor(Math.random() * candidates.length);
  let second = Math.floor(Math.random() * (candidates.length - 1));
  if (second >= first) second++;
  const a = candidates[first];
  const b = candidates[second];
  return load(b) < load(a) ? b : a;
}

const POINTS_PER_WEIGHT = 100;

function hash32(text: string): number {
  return createHash("md5").update(text).digest().readUInt32BE(0);
}

/**
 * A hash ring with virtual nodes in proportion to weight. A key goes to the first serving target
 * clockwise from its hash, so when a target leaves only its keys move.
 */
function consistentHash(all: Target[]): Balancer {
  const ring: { point: number; target: Target }[] = [];
  for (const target of all) {
    for (let i = 0; i < target.weight * POINTS_PER_WEIGHT; i++) ring.push({ point: hash32(`${target.origin}#${i}`), target });
  }
  ring.sort((a, b) => a.point - b.point);
  return (candidates, hashKey) => {
    if (hashKey === null) return randomTwo(candidates);
    const serving = new Set(candidates);
    const point = hash32(hashKey);
    let low = 0;
    let high = ring.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (ring[mid].point < point) low = mid + 1;
      else high = mid;
    }
    for (let step = 0; step < ring.length; step++) {
      const entry = ring[(low + step) % ring.length];
      if (serving.has(entry.target)) return entry.target;
    }
    return candidates[0];
  };
}

export function createBalancer(strategy: BalanceStrategy, targets: Target[]): Balancer {
  switch (strategy) {
    case "round-robin":
      return roundRobin;
    case "least-connections":
      return leastConnections;
    case "random-two":
      return randomTwo;
    case "consistent-hash":
      return consistentHash(targets);
  }
}
