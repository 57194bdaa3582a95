/** The `env` option of the providers that create a worker's container (docker, pods). */
import { z } from 'zod';

/**
 * Extra environment of a worker's container: variable names, none of `reserved` (node-manager
 * sets those); string, number or boolean values, each kept as its string. @default {}
 */
export const workerEnv = (reserved: readonly string[]) =>
  z
    .record(
      z
        .string()
        .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'an environment variable name')
        .refine((k) => !reserved.includes(k), 'set by node-manager'),
      z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v)),
    )
    .default({});
