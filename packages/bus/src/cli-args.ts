/**
 * The one flag parser of Scalewise's command lines, on commander (which `scalewise-bus` is
 * built on): the `scalewise` commands describe their flags as node:util's parseArgs does
 * (`{ name: { type, short, multiple } }`) and get `{ values, positionals }` back, keyed by
 * the flags' own names; an unknown flag, a missing value or a stray argument is a
 * {@link FlagError} whose message says which, in the words the commands have always used.
 */
import { Command, CommanderError, Option } from 'commander';

/** One flag: a string (`--pool P`) or a boolean (`--json`), repeatable, with a one-letter alias. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
}

/** The values of the flags given, keyed by their names, and the arguments that are not flags. */
export interface ParsedFlags<O extends Record<string, FlagSpec>> {
  values: {
    [K in keyof O]?: O[K]['type'] extends 'string'
      ? O[K]['multiple'] extends true
        ? string[]
        : string
      : O[K]['multiple'] extends true
        ? boolean[]
        : boolean;
  };
  positionals: string[];
}

/** A command line its flags do not fit; the message names the flag or argument. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** commander's messages in the words of the commands' help and tests. */
function flagMessage(err: CommanderError, args: readonly string[]): string {
  const text = err.message.replace(/^error: /, '').replace(/--([a-z0-9-]+)-off-\d+/g, '--no-$1');
  switch (err.code) {
    case 'commander.unknownOption': {
      const flag = /'([^']+)'/.exec(text)?.[1] ?? text;
      return `Unknown option '${flag}'`;
    }
    case 'commander.optionMissingArgument':
      return text.replace(/^option/, 'Option');
    case 'commander.excessArguments': {
      const stray = args.find((a) => !a.startsWith('-'));
      return `Unexpected argument '${stray ?? ''}'. This command does not take positional arguments`;
    }
    default:
      return text.charAt(0).toUpperCase() + text.slice(1);
  }
}

/**
 * Parses `args` (without the command's name) against `flags`: `--name value`, `--name=value`,
 * `-x value`, a repeated flag collected when `multiple`; positionals only when allowed.
 * @throws FlagError for an unknown flag, a string flag without its value, or a positional
 *   where none is allowed.
 */
export function parseFlags<O extends Record<string, FlagSpec>>(
  command: string,
  args: readonly string[],
  flags: O,
  allowPositionals = false,
): ParsedFlags<O> {
  const program = new Command(command)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .helpOption(false)
    .allowExcessArguments(allowPositionals);
  if (allowPositionals) program.argument('[args...]');
  const names = new Map<string, string>();
  for (const [name, spec] of Object.entries(flags)) {
    // A flag named `no-x` is a flag of its own here, not commander's negation of `x`.
    const long = name.startsWith('no-') ? `--${name.slice(3)}-off-${name.length}` : `--${name}`;
    const option = new Option(
      `${spec.short ? `-${spec.short}, ` : ''}${long}${spec.type === 'string' ? ' <value>' : ''}`,
    );
    if (spec.multiple) option.argParser((v: string, prev: unknown) => [...((prev as string[]) ?? []), v]);
    program.addOption(option);
    names.set(option.attributeName(), name);
  }
  const argv = args.map((a) => {
    const [flag = a, ...rest] = a.split('=');
    if (!flag.startsWith('--no-') || !(flag.slice(2) in flags)) return a;
    const name = flag.slice(2);
    return [`--${name.slice(3)}-off-${name.length}`, ...rest].join('=');
  });
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new FlagError(flagMessage(err, args));
    throw err;
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program.opts())) {
    const name = names.get(key);
    if (name !== undefined && value !== undefined) values[name] = value;
  }
  return { values: values as ParsedFlags<O>['values'], positionals: [...program.args] };
}
