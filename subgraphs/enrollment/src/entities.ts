// Every entity of the enrollment schema (the subgraph and the worker share the list).
import { CourseCompletionSchema, EnrollmentSchema } from './modules/enrollment/enrollment.entity.ts';
import { CohortSchema, OfferingSchema } from './modules/offering/offering.entity.ts';
import { RosterImportRowSchema, RosterImportSchema } from './modules/roster/roster.entity.ts';

export const entities = [OfferingSchema, CohortSchema, EnrollmentSchema, CourseCompletionSchema, RosterImportSchema, RosterImportRowSchema];
