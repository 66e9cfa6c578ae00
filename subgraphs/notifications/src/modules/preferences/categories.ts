// The vocabulary of notifications and the defaults that apply while a user has changed nothing.
export const CATEGORIES = ['COURSES', 'MEMBERSHIP', 'SYSTEM', 'ENROLLMENT_CONFIRMED', 'WAITLIST_PROMOTED', 'COURSE_COMPLETED', 'CERTIFICATE_ISSUED'] as const;
export type Category = (typeof CATEGORIES)[number];

export const CHANNELS = ['IN_APP', 'EMAIL'] as const;
export type Channel = (typeof CHANNELS)[number];

export const FREQUENCIES = ['IMMEDIATE', 'DAILY', 'WEEKLY', 'OFF'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
export type DigestFrequency = Extract<Frequency, 'DAILY' | 'WEEKLY'>;

/** In-app items are shown at once or not at all: digests are an email thing. */
export const IN_APP_FREQUENCIES: readonly Frequency[] = ['IMMEDIATE', 'OFF'];

/**
 * Without a preference row: every category in-app at once; email at once for membership and
 * system messages and for what concerns the learner themself (an enrollment confirmed, a seat
 * from the waitlist, a course completed, a certificate issued), new courses in a weekly digest.
 */
export const DEFAULT_FREQUENCY: Record<Channel, Record<Category, Frequency>> = {
  IN_APP: { COURSES: 'IMMEDIATE', MEMBERSHIP: 'IMMEDIATE', SYSTEM: 'IMMEDIATE', ENROLLMENT_CONFIRMED: 'IMMEDIATE', WAITLIST_PROMOTED: 'IMMEDIATE', COURSE_COMPLETED: 'IMMEDIATE', CERTIFICATE_ISSUED: 'IMMEDIATE' },
  EMAIL: { COURSES: 'WEEKLY', MEMBERSHIP: 'IMMEDIATE', SYSTEM: 'IMMEDIATE', ENROLLMENT_CONFIRMED: 'IMMEDIATE', WAITLIST_PROMOTED: 'IMMEDIATE', COURSE_COMPLETED: 'IMMEDIATE', CERTIFICATE_ISSUED: 'IMMEDIATE' },
};

export const isDigest = (f: Frequency): f is DigestFrequency => f === 'DAILY' || f === 'WEEKLY';
