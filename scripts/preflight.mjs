// Plain JavaScript on purpose: it must run on an old Node to say clearly that it is old
// (the TypeScript entry points need Node 24's type stripping).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`Lectern needs Node 24; this is ${process.version}. Install it (e.g. npm install node@24, then put node_modules/.bin first on PATH) and run again.`);
  process.exit(1);
}
