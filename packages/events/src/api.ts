/**
 * The shapes of the services' HTTP answers that other programs read (the CLI, the console,
 * tests): written once here, each with the JSON Schema its route declares, so a server and
 * its clients cannot drift apart. A decision's explanation is the catalogue's.
 */
import type { z } from 'zod';
import type { Severity } from './catalogue.ts';
import type { AnyScalewiseEvent } from './envelope.ts';
import type { explanationSchema } from './schemas.ts';

/** Why a decision was taken: the rule, the inputs, the comparisons and any clamp (schemas.ts). */
export type Explanation = z.output<typeof explanationSchema>;

/** A scale trigger's target, pursued (not reached yet) or held until `until`. */
export interface PoolHold {
  target: number;
  action: 'scale_up' | 'scale_down' | 'set';
  trigger_id: string;
  source: string;
  reason: string;
  state: 'pursued' | 'held';
  /** ISO time the hold ends; null while pursued. */
  until: string | null;
}

/** One row of the decision engine's `GET /v1/pools`. */
export interface PoolStatus {
  pool: string;
  /** Null until the pool's members have been listed once. */
  workers: number | null;
  /** The size the pool heads for (workers and the actions in flight). */
  desired: number | null;
  min: number;
  max: number;
  paused: boolean;
  dry_run: boolean;
  in_flight: number;
  hold: PoolHold | null;
}

/** The decision engine's `GET /v1/pools`. */
export interface PoolsResponse {
  pools: PoolStatus[];
}

/** An action in flight as min-enforcer's floor route shows it (the ledger's). */
export interface FloorAction {
  id: string;
  direction: 'up' | 'down';
  count: number;
  remaining: number;
  origin: 'decision' | 'floor' | 'trigger' | 'external';
  state: 'claimed' | 'started' | 'done' | 'failed';
  at: number;
  expiresAt: number;
}

/** min-enforcer's `GET /v1/pools/:pool/floor`; only `pool` and `state: null` while nothing is stored. */
export type FloorStatus =
  | { pool: string; state: null }
  | {
      pool: string;
      workers: number | null;
      desired: number | null;
      min: number;
      max: number;
      violation: { since: number } | null;
      retry_at: number | null;
      in_flight: FloorAction[];
      losses: { node: string; at: number }[];
    };

/** One event of a causal chain, at its depth from the root (the signal or trigger that started it). */
export interface ChainLink {
  event: AnyScalewiseEvent;
  depth: number;
}

/** alert-manager's `GET /v1/explain/:id`: why an event happened, from the events of its correlation. */
export interface ChainExplanation {
  correlationid: string;
  /** The path from the root cause to the asked-for event, then what the event led to. */
  chain: ChainLink[];
  /** Decisions not taken, with their reasons, in force in this chain. */
  blocked: AnyScalewiseEvent[];
  /** Events of the correlation that are not on the path (side branches), by time. */
  related: AnyScalewiseEvent[];
}

/** alert-manager's `GET /v1/explain?pool&at`: the reasons not to act in force at `at`, the decisions before. */
export interface PoolExplanation {
  pool: string;
  at: string;
  blocked: AnyScalewiseEvent[];
  decisions: AnyScalewiseEvent[];
}

/** One open alert of alert-manager's `GET /v1/alerts`. */
export interface OpenAlert {
  key: string;
  pool: string;
  type: string;
  severity: Severity;
  firstAt: number;
  lastAt: number;
  pending: number;
}

/** A silence (alert-manager's `/v1/silences`): matching alerts are not sent until `endsAt` (epoch ms). */
export interface Silence {
  id: string;
  pools?: string[];
  types?: string[];
  severities?: Severity[];
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** A pool's configured limits, as alert-manager's `GET /console/api/pools` lists them. */
export interface PoolLimits {
  pool: string;
  min: number;
  max: number;
}

const nullable = (type: string) => ({ type: [type, 'null'] });

/** JSON Schema of {@link PoolHold} or null. */
export const poolHoldJsonSchema = {
  type: ['object', 'null'],
  properties: {
    target: { type: 'integer' },
    action: { type: 'string', enum: ['scale_up', 'scale_down', 'set'] },
    trigger_id: { type: 'string' },
    source: { type: 'string' },
    reason: { type: 'string' },
    state: { type: 'string', enum: ['pursued', 'held'] },
    until: nullable('string'),
  },
  required: ['target', 'action', 'trigger_id', 'source', 'reason', 'state', 'until'],
} as const;

/** JSON Schema of {@link PoolStatus}. */
export const poolStatusJsonSchema = {
  type: 'object',
  properties: {
    pool: { type: 'string' },
    workers: nullable('integer'),
    desired: nullable('integer'),
    min: { type: 'integer' },
    max: { type: 'integer' },
    paused: { type: 'boolean' },
    dry_run: { type: 'boolean' },
    in_flight: { type: 'integer' },
    hold: poolHoldJsonSchema,
  },
  required: ['pool', 'workers', 'desired', 'min', 'max', 'paused', 'dry_run', 'in_flight', 'hold'],
} as const;

/** JSON Schema of {@link PoolsResponse}. */
export const poolsResponseJsonSchema = {
  type: 'object',
  properties: { pools: { type: 'array', items: poolStatusJsonSchema } },
  required: ['pools'],
} as const;

/** JSON Schema of a route's `:pool` parameter. */
export const poolParamsJsonSchema = {
  type: 'object',
  properties: { pool: { type: 'string' } },
  required: ['pool'],
} as const;

const floorActionJsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    direction: { type: 'string' },
    count: { type: 'integer' },
    remaining: { type: 'integer' },
    origin: { type: 'string' },
    state: { type: 'string' },
    at: { type: 'number' },
    expiresAt: { type: 'number' },
  },
} as const;

/** JSON Schema of {@link FloorStatus} (one object: the fields absent while nothing is stored). */
export const floorStatusJsonSchema = {
  type: 'object',
  properties: {
    pool: { type: 'string' },
    state: { type: 'null' },
    workers: nullable('integer'),
    desired: nullable('integer'),
    min: { type: 'integer' },
    max: { type: 'integer' },
    violation: { type: ['object', 'null'], properties: { since: { type: 'number' } } },
    retry_at: nullable('number'),
    in_flight: { type: 'array', items: floorActionJsonSchema },
    losses: {
      type: 'array',
      items: { type: 'object', properties: { node: { type: 'string' }, at: { type: 'number' } } },
    },
  },
  required: ['pool'],
} as const;
