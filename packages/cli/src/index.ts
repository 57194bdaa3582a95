export { colourEnabled, noColour, type Palette, palette } from './colour.ts';
export { parseExplain, runExplain } from './commands/explain.ts';
export { parseStatus, runStatus } from './commands/status.ts';
export { parseTail, runTail, tailMatches, tailTopicKeys } from './commands/tail.ts';
export { parseTrigger, runTrigger } from './commands/trigger.ts';
export { type Context, createContext, type Io } from './context.ts';
export { UsageError } from './errors.ts';
export * from './format.ts';
export { run, usage } from './run.ts';
