// The words of the items about a learner's own course: enrollment confirmed, a seat from the
// waitlist, a course completed, its certificate issued. Stored (and emailed) without the course's title, which only
// catalog knows and which may change; read through the gateway, the title and body name the
// course as catalog shows it to the reader (`@requires(fields: "course { title }")`).
import type { Category } from '../preferences/categories.ts';

export type CourseCategory = Extract<Category, 'ENROLLMENT_CONFIRMED' | 'WAITLIST_PROMOTED' | 'COURSE_COMPLETED' | 'CERTIFICATE_ISSUED'>;

export const isCourseCategory = (c: Category): c is CourseCategory =>
  c === 'ENROLLMENT_CONFIRMED' || c === 'WAITLIST_PROMOTED' || c === 'COURSE_COMPLETED' || c === 'CERTIFICATE_ISSUED';

/** Title and body of an item of `category` about `course` (null: the title is not known here). */
export function courseText(category: Category, course: string | null): { title: string; body: string } | null {
  if (!isCourseCategory(category)) return null;
  const named = course === null ? 'a course' : `“${course}”`;
  const it = course === null ? 'the course' : `“${course}”`;
  switch (category) {
    case 'ENROLLMENT_CONFIRMED':
      return { title: `You are enrolled in ${named}`, body: `Your seat in ${it} is confirmed. You can start whenever you are ready.` };
    case 'WAITLIST_PROMOTED':
      return { title: `A seat opened up for you in ${named}`, body: `You were on the waitlist for ${it} and now hold a seat. You can start whenever you are ready.` };
    case 'COURSE_COMPLETED':
      return { title: `You completed ${named}`, body: `Congratulations: you completed every required lesson of ${it}.` };
    case 'CERTIFICATE_ISSUED':
      return {
        title: `Your certificate for ${named} is ready`,
        body: `Your certificate of completing ${it} is issued: download its PDF, or share its credential, which anyone can verify.`,
      };
  }
}
