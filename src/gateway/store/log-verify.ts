import { chainHash, GENESIS_HASH } from './log-chain.js';
import { type LogHead, openAnchor, openHead, type PurgeAnchor } from './log-seal.js';
import type { LogRecord, VerifyProblem, VerifyResult } from './types.js';

const DAY = 24 * 60 * 60 * 1000;
/** Clock difference tolerated between the purge that wrote an anchor and the verify reading it. */
const CLOCK_SLACK_MS = 10 * 60 * 1000;
/** The policy's smallest retention (retentionDays ≥ 1). */
const MIN_RETENTION_MS = DAY;
const MAX_PROBLEMS = 100;

/** Everything verification reads, as stored; the values are checked here, not trusted. */
export interface VerifyInput {
  chainKey: Buffer;
  metaKey: Buffer;
  now: number;
  /** meta `log_head`: the MAC'd head. */
  head: string | undefined;
  /** meta `log_head_seq`: the bare head seq older versions wrote. */
  legacyHeadSeq: string | undefined;
  /** meta `purge_anchor`. */
  anchor: string | undefined;
  /** log-head.json's text; undefined when the file does not exist. */
  witness: string | undefined;
  /** Every record, in seq order. */
  records: Iterable<LogRecord>;
}

export const LEGACY_NOTE =
  'the log head is not authenticated: this log was last written by an older version of Sphyr, so ' +
  'newest records deleted before the upgrade cannot be ruled out. The gateway authenticates it on its next start.';

function missing(from: number, to: number): string {
  return from === to ? `record ${from} is missing` : `records ${from}–${to} are missing`;
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** Why an authentic anchor still cannot be right, or undefined. Adopted (older-version) anchors carry no times. */
function anchorAgeProblem(a: PurgeAnchor, now: number): string | undefined {
  if (a.recordTs === null || a.retentionMs === null) return undefined;
  const tooYoung =
    a.retentionMs < MIN_RETENTION_MS ||
    a.recordTs >= a.purgedAt - a.retentionMs ||
    a.recordTs > now - a.retentionMs + CLOCK_SLACK_MS;
  if (!tooYoung) return undefined;
  return `the purge anchor is younger than its retention allows: record ${a.seq} was written ${iso(a.recordTs)} and purged at ${iso(a.purgedAt)} under a retention of ${a.retentionMs / DAY} days (now is ${iso(now)})`;
}

/**
 * Check the chain from the purge anchor (or the genesis) to the head, and the head against the
 * witness; collect every problem instead of stopping at the first, so the report says what
 * happened: which records are missing, which were altered, what was forged.
 */
export function verifyLog(input: VerifyInput): VerifyResult {
  const problems: VerifyProblem[] = [];
  const notes: string[] = [];
  let dropped = 0;
  const add = (seq: number | null, message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ seq, message });
    else dropped += 1;
  };
  // No MAC'd head anywhere: a log from before heads were authenticated (a sphyr.db writer cannot
  // produce this state: the witness beside master.key is out of its reach).
  const legacy = input.witness === undefined && input.head === undefined;

  let start = { seq: 0, hash: GENESIS_HASH };
  const anchor = openAnchor(input.metaKey, input.anchor);
  if (anchor.state === 'ok') {
    start = { seq: anchor.value.seq, hash: anchor.value.hash };
    const age = anchorAgeProblem(anchor.value, input.now);
    if (age) add(anchor.value.seq, age);
  } else if (anchor.state === 'unauthenticated') {
    if (legacy && anchor.legacy && anchor.claimedSeq !== null) {
      start = JSON.parse(input.anchor as string) as { seq: number; hash: string };
    } else {
      const claim =
        anchor.claimedSeq === null ? '' : ` (it claims records 1–${anchor.claimedSeq} were purged)`;
      add(anchor.claimedSeq, `the purge anchor is not authentic${claim}: it was not written by this gateway`);
    }
  }

  // The witness may lag sphyr.db by up to a second, so its record is looked up as the rows go by.
  const witness = input.witness === undefined ? undefined : openHead(input.metaKey, input.witness.trim());
  const witnessSeq = witness?.state === 'ok' ? witness.value.seq : undefined;
  let witnessRowHash: string | undefined = witnessSeq === start.seq ? start.hash : undefined;

  let expected = start;
  let checked = 0;
  let firstSeq: number | null = null;
  for (const r of input.records) {
    if (r.seq <= start.seq) {
      add(
        r.seq,
        `record ${r.seq} is present though the purge anchor says records 1–${start.seq} were purged`,
      );
      continue;
    }
    firstSeq ??= r.seq;
    const gap = r.seq > expected.seq + 1;
    if (gap) add(expected.seq + 1, missing(expected.seq + 1, r.seq - 1));
    if (chainHash(input.chainKey, r.seq, r.prevHash, r) !== r.hash) {
      add(r.seq, `record ${r.seq} was altered or moved (its hash does not match its contents)`);
    } else if (!gap && r.prevHash !== expected.hash) {
      add(r.seq, `record ${r.seq} does not follow record ${expected.seq} (prev_hash differs)`);
    } else {
      checked += 1;
    }
    if (r.seq === witnessSeq) witnessRowHash = r.hash;
    expected = { seq: r.seq, hash: r.hash };
  }
  const end = expected;
  let missingReportedThrough = end.seq;

  /** A head says the log reached `tip`: records after `end` up to it are missing. */
  const checkTip = (tip: { seq: number; hash: string | null }, source: string) => {
    if (tip.seq > missingReportedThrough) {
      add(end.seq + 1, `${missing(end.seq + 1, tip.seq)} (${source} says the log reached record ${tip.seq})`);
      missingReportedThrough = tip.seq;
    } else if (tip.seq === end.seq && tip.hash !== null && tip.hash !== end.hash) {
      add(tip.seq, `record ${tip.seq} is not the record ${source} names`);
    }
  };

  const head = openHead(input.metaKey, input.head);
  if (head.state === 'ok') {
    checkTip(head.value, 'the log head');
    if (head.value.seq < end.seq) {
      add(
        head.value.seq + 1,
        `the log head names record ${head.value.seq} but records go on to ${end.seq}: the head was rolled back`,
      );
    }
  } else if (head.state === 'unauthenticated') {
    const claim = head.claimedSeq === null ? '' : ` (it claims record ${head.claimedSeq})`;
    add(
      head.claimedSeq,
      `the log head in sphyr.db is not authentic${claim}: it was not written by this gateway`,
    );
  } else if (legacy) {
    notes.push(LEGACY_NOTE);
    const seq = Number(input.legacyHeadSeq ?? 0);
    if (Number.isSafeInteger(seq)) checkTip({ seq, hash: null }, 'the log head');
  } else {
    add(null, 'the log head is missing from sphyr.db (its meta was deleted)');
  }

  if (witness === undefined) {
    if (!legacy) {
      notes.push(
        'log-head.json is missing from the data dir, so sphyr.db rolled back to an earlier copy would not show; the gateway writes it again on its next start',
      );
    }
  } else if (witness.state === 'ok') {
    checkWitness(witness.value);
  } else {
    add(null, 'log-head.json is not authentic: it was not written by this gateway');
  }

  function checkWitness(w: LogHead): void {
    if (w.seq >= end.seq) {
      checkTip(w, 'log-head.json');
    } else if (witnessRowHash !== undefined && witnessRowHash !== w.hash) {
      // Older than the newest record: its record must still be the one it named (unless purged since).
      add(w.seq, `record ${w.seq} is not the record log-head.json names`);
    }
  }

  if (dropped > 0) add(null, `… and ${dropped} more problems`);
  const first = problems[0];
  return {
    ok: problems.length === 0,
    checked,
    firstSeq,
    lastSeq: firstSeq === null ? null : end.seq,
    purgedThrough: start.seq,
    ...(first ? { brokenAt: first.seq ?? end.seq + 1, problem: first.message } : {}),
    problems,
    notes,
  };
}
