// Seed builders for tests of enrollment and of the contexts that meet it.
export {};
