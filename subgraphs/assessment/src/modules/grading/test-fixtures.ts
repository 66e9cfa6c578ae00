// One valid raw definition of every question type, shared by the tests (and mirrored by the
// example in docs/bank-format.md) so each rule is tested against a known key.
export const RAW = {
  SINGLE_CHOICE: {
    type: 'SINGLE_CHOICE',
    prompt: 'Which planet is closest to the Sun?',
    options: [
      { id: 'a', text: 'Venus' },
      { id: 'b', text: 'Mercury' },
      { id: 'c', text: 'Mars' },
    ],
    correct: 'b',
  },
  MULTIPLE_CHOICE: {
    type: 'MULTIPLE_CHOICE',
    prompt: 'Which are prime?',
    points: 4,
    options: [
      { id: 'a', text: '2' },
      { id: 'b', text: '3' },
      { id: 'c', text: '4' },
      { id: 'd', text: '6' },
    ],
    correct: ['a', 'b'],
  },
  TRUE_FALSE: { type: 'TRUE_FALSE', prompt: 'Water boils at 100 °C at sea level.', correct: true },
  SHORT_ANSWER: { type: 'SHORT_ANSWER', prompt: 'Capital of France?', accepted: ['Paris', 'Ville  Lumière'] },
  NUMERIC: { type: 'NUMERIC', prompt: 'g in m/s²?', points: 2, value: 9.81, tolerance: 0.01, unit: 'm/s²' },
  MATCHING: {
    type: 'MATCHING',
    prompt: 'Match the countries to their capitals.',
    points: 3,
    prompts: [
      { id: 'fr', text: 'France' },
      { id: 'de', text: 'Germany' },
      { id: 'it', text: 'Italy' },
    ],
    options: [
      { id: 'paris', text: 'Paris' },
      { id: 'berlin', text: 'Berlin' },
      { id: 'rome', text: 'Rome' },
      { id: 'madrid', text: 'Madrid' },
    ],
    pairs: [
      { promptId: 'fr', optionId: 'paris' },
      { promptId: 'de', optionId: 'berlin' },
      { promptId: 'it', optionId: 'rome' },
    ],
  },
  ORDERING: {
    type: 'ORDERING',
    prompt: 'Order from smallest to largest.',
    points: 4,
    items: [
      { id: 'atom', text: 'Atom' },
      { id: 'cell', text: 'Cell' },
      { id: 'organ', text: 'Organ' },
      { id: 'body', text: 'Body' },
    ],
  },
  FILL_IN_THE_BLANKS: {
    type: 'FILL_IN_THE_BLANKS',
    prompt: 'Complete the sentence.',
    points: 2,
    text: 'The {{1}} is the powerhouse of the {{2}}.',
    blanks: [{ accepted: ['mitochondrion', 'mitochondria'] }, { accepted: ['Cell'], caseSensitive: true }],
  },
  ESSAY: {
    type: 'ESSAY',
    prompt: 'Discuss the causes of the French Revolution.',
    points: 10,
    minWords: 200,
    maxWords: 800,
    rubric: {
      criteria: [
        {
          id: 'content',
          title: 'Content',
          levels: [
            { id: 'weak', title: 'Weak', points: 0 },
            { id: 'good', title: 'Good', points: 4 },
            { id: 'great', title: 'Great', points: 6 },
          ],
        },
        {
          id: 'style',
          title: 'Style',
          description: 'Structure and clarity',
          levels: [
            { id: 'poor', title: 'Poor', points: 1 },
            { id: 'fine', title: 'Fine', points: 4 },
          ],
        },
      ],
    },
  },
} as const;
