/**
 * @module Things that happened at the gateway that someone may want to hear about (DESIGN §3.9):
 * emitted where they happen, delivered by the webhook dispatcher. Emitting never blocks or fails
 * the request that caused it.
 */

import { randomBytes } from 'node:crypto';

export type GatewayEventType =
  | 'request.blocked'
  | 'request.rate_limited'
  | 'key.created'
  | 'key.revoked'
  | 'key.rotated'
  | 'device.approved';

export const EVENT_TYPES: readonly GatewayEventType[] = [
  'request.blocked',
  'request.rate_limited',
  'key.created',
  'key.revoked',
  'key.rotated',
  'device.approved',
];

export interface GatewayEvent {
  /** `evt_` + 24 hex: the Standard Webhooks `webhook-id`, the same on every retry. */
  id: string;
  type: GatewayEventType;
  /** ISO 8601. */
  time: string;
  data: Record<string, unknown>;
}

export interface EventSink {
  emit(event: GatewayEvent): void;
}

export function newEvent(type: GatewayEventType, now: number, data: Record<string, unknown>): GatewayEvent {
  return { id: `evt_${randomBytes(12).toString('hex')}`, type, time: new Date(now).toISOString(), data };
}
