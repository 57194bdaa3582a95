export { freshGroupId, freshTopic, testKafka } from './kafka.ts';
export { uniqueName } from './names.ts';
export { getStack, parseEnvLines, repositoryRoot, type StackEndpoints, type StackOptions } from './stack.ts';
export { type WaitForOptions, waitFor } from './wait.ts';
