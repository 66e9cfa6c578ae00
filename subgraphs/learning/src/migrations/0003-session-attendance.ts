// Live attendance, as live's AttendanceRecorded reports it when a Session ends: per learner
// and session, the share of the session they attended (learners only: the completion policy's
// attendance requirement counts nothing else). Keyed by learner and offering rather than
// enrollment, so attendance recorded before the learner's enrollment is projected (events of two
// producers arrive in any order) still counts once it is. Written as upserts keeping the larger
// figures (facts only grow), so a redelivery changes nothing.
import type { Migration } from '@lectern/kernel/db';

export const m0003: Migration = {
  id: '0003-session-attendance',
  up: (h) => {
    const t = (name: string) => `${h.schema}.${name}`;
    return [
      `CREATE TABLE ${t('session_attendance')} (
         tenant_id uuid NOT NULL,
         session_id uuid NOT NULL,
         learner_id uuid NOT NULL,
         offering_id uuid NOT NULL,
         attended_seconds integer NOT NULL CHECK (attended_seconds >= 0),
         percent integer NOT NULL CHECK (percent BETWEEN 0 AND 100),
         session_ended_at timestamptz NOT NULL,
         recorded_at timestamptz NOT NULL DEFAULT now(),
         PRIMARY KEY (tenant_id, session_id, learner_id)
       )`,
      `CREATE INDEX session_attendance_learner ON ${t('session_attendance')} (tenant_id, learner_id, offering_id, percent)`,
      ...h.tenantTable('session_attendance'),
    ];
  },
};
