// enroll_learner: the whole change of enrollLearner in one call, so the one round trip that
// takes a seat also commits it (uow.statement) and the cohort's row lock lasts only as long as
// PostgreSQL takes to run it. The caller has read the cohort and decided what does not need a
// lock (who may, the enrollment window, membership, prerequisites: `p_decided`); this does what
// must happen under the locks, in this order (enrollment.store.ts gives the lock order):
//   1. the idempotency key: kernel idempotency_claim; in flight or already used, it returns the
//      claim as it found it and changes nothing (the caller answers as kernel claim() does);
//   2. the learner's advisory lock for the offering, then their enrollment in it (read after
//      the lock, so it sees every one committed before): ALREADY_ENROLLED;
//   3. the seat: a guarded UPDATE of the cohort row (seats_taken < capacity, rechecked under
//      its row lock); with a seat, the ACTIVE enrollment and its LearnerEnrolled event (kernel
//      outbox_record, the envelope validated by the caller); without one, the waitlist if the
//      offering has one and the cohort is still full (else a seat just freed: try again), or
//      COHORT_FULL;
//   4. the result the caller prepared for that outcome, stored for the key (kernel
//      idempotency_complete, which raises if another request's record appeared meanwhile:
//      everything above is undone).
import type { Migration } from '@lectern/kernel/db';

export const m0003: Migration = {
  id: '0003-enroll-learner',
  up: (h) => {
    const s = h.schema;
    return [
      `CREATE FUNCTION ${s}.enroll_learner(
         p_tenant uuid, p_scope text, p_key text, p_fingerprint text, p_ttl_hours int,
         p_cohort uuid, p_offering uuid, p_learner uuid, p_enrolled_by uuid, p_waitlist boolean,
         p_enrollment uuid, p_event jsonb,
         p_decided jsonb, p_seated jsonb, p_already jsonb, p_full jsonb)
       RETURNS TABLE (locked boolean, fingerprint text, response jsonb, outcome text, result jsonb)
       LANGUAGE plpgsql VOLATILE AS $$
       DECLARE
         claimed record;
         v_existing uuid;
         v_seq bigint;
         v_outcome text;
         v_result jsonb;
       BEGIN
         SELECT * INTO claimed FROM ${s}.idempotency_claim(p_tenant, p_scope, p_key);
         IF NOT claimed.locked OR claimed.fingerprint IS NOT NULL THEN
           RETURN QUERY SELECT claimed.locked, claimed.fingerprint, claimed.response, NULL::text, NULL::jsonb;
           RETURN;
         END IF;
         IF p_decided IS NOT NULL THEN
           v_outcome := 'DECIDED';
           v_result := p_decided;
         ELSE
           PERFORM pg_advisory_xact_lock(hashtextextended('enroll:' || p_tenant || ':' || p_offering || ':' || p_learner, 0));
           SELECT e.id INTO v_existing FROM ${s}.enrollments e
            WHERE e.tenant_id = p_tenant AND e.offering_id = p_offering AND e.learner_id = p_learner AND e.status <> 'DROPPED';
           IF v_existing IS NOT NULL THEN
             v_outcome := 'ALREADY_ENROLLED';
             v_result := jsonb_set(p_already, '{enrollmentId}', to_jsonb(v_existing));
           ELSE
             FOR attempt IN 1..5 LOOP
               UPDATE ${s}.cohorts c SET seats_taken = c.seats_taken + 1, updated_at = now()
                WHERE c.tenant_id = p_tenant AND c.id = p_cohort AND c.seats_taken < c.capacity;
               IF FOUND THEN
                 INSERT INTO ${s}.enrollments (id, tenant_id, offering_id, cohort_id, learner_id, status, enrolled_by, enrolled_at)
                 VALUES (p_enrollment, p_tenant, p_offering, p_cohort, p_learner, 'ACTIVE', p_enrolled_by, now());
                 PERFORM ${s}.outbox_record((p_event->>'id')::uuid, p_tenant, p_event->>'type', (p_event->>'version')::int,
                   p_event->>'aggregateType', p_event->>'aggregateId', (p_event->>'occurredAt')::timestamptz, p_event->'payload');
                 v_outcome := 'ACTIVE';
                 v_result := p_seated;
                 EXIT;
               END IF;
               EXIT WHEN NOT p_waitlist;
               UPDATE ${s}.cohorts c SET waitlist_seq = c.waitlist_seq + 1
                WHERE c.tenant_id = p_tenant AND c.id = p_cohort AND c.seats_taken >= c.capacity
               RETURNING c.waitlist_seq INTO v_seq;
               IF FOUND THEN
                 INSERT INTO ${s}.enrollments (id, tenant_id, offering_id, cohort_id, learner_id, status, waitlist_seq, enrolled_by)
                 VALUES (p_enrollment, p_tenant, p_offering, p_cohort, p_learner, 'WAITLISTED', v_seq, p_enrolled_by);
                 v_outcome := 'WAITLISTED';
                 v_result := p_seated;
                 EXIT;
               END IF;
             END LOOP;
             IF v_outcome IS NULL THEN
               v_outcome := 'COHORT_FULL';
               v_result := p_full;
             END IF;
           END IF;
         END IF;
         PERFORM ${s}.idempotency_complete(p_tenant, p_scope, p_key, p_fingerprint, jsonb_build_object('value', v_result), p_ttl_hours);
         RETURN QUERY SELECT true, NULL::text, NULL::jsonb, v_outcome, v_result;
       END
       $$`,
    ];
  },
};
