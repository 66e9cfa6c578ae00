// Seed builders for tests of learning and of the contexts that meet it.
export {};
