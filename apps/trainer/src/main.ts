import { buildProgram } from './program';

// TensorFlow.js prints a hint to install tfjs-node on first use in Node; the trainer picks
// backends itself and says which one it chose, so the hint is only noise here.
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === 'string' && args[0].includes('looks like you are running TensorFlow.js in Node.js')) return;
  warn(...args);
};

try {
  const program = await buildProgram();
  await program.parseAsync(process.argv);
} catch (e) {
  console.error(`mrlseg: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = process.exitCode || 1;
}
