/**
 * The command line: picks the command, parses its flags, runs it, and turns every failure
 * into one line on stderr and an exit status (0 done, 1 failed, 2 bad usage). `replay` and
 * `dlq` are the bus's own commands (packages/bus/src/cli.ts) run with clients built from the
 * configuration.
 */
import { runBusCli } from '@scalewise/bus/cli';
import { ScalewiseError } from '@scalewise/errors';
import { explainUsage, parseExplain, runExplain } from './commands/explain.ts';
import { parseStatus, runStatus, statusUsage } from './commands/status.ts';
import { parseTail, runTail, tailUsage } from './commands/tail.ts';
import { parseTrigger, runTrigger, triggerUsage } from './commands/trigger.ts';
import { type Context, createContext, type Io } from './context.ts';
import { UsageError } from './errors.ts';
import { cliVersion } from './version.ts';

export const usage = `Usage: scalewise <command> [options]

Commands:
  tail        follow events live from Kafka (filters, human or JSON lines)
  trigger     publish a trigger: scale, pause, resume, update a pool
  explain     why did it scale? the chain of an event, or a pool at a time
  status      the pools as the decision-engine holds them
  replay      replay a topic range to stdout or into its topic
  dlq         the dead-letter queue: list, show, replay

Every command takes --help; --version prints the version and the commit of the build.
Kafka and S3 come from --config FILE or $SCALEWISE_CONFIG, else from the defaults with the
environment on top (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX, S3_*, ...).
Colour only on a terminal; NO_COLOR or --no-color turns it off.`;

const usages: Record<string, string> = {
  tail: tailUsage,
  trigger: triggerUsage,
  explain: explainUsage,
  status: statusUsage,
};

/** Removes `--name value` / `--name=value` / a boolean `--name` from args; returns its value. */
export function takeFlag(args: string[], name: string, boolean = false): string | true | undefined {
  let value: string | true | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i] as string;
    if (a === '--') break;
    if (a === `--${name}`) {
      if (boolean) {
        value = true;
        args.splice(i, 1);
      } else {
        const next = args[i + 1];
        if (next === undefined || next.startsWith('-')) throw new UsageError(`--${name} needs a value`);
        value = next;
        args.splice(i, 2);
      }
      i -= 1;
    } else if (!boolean && a.startsWith(`--${name}=`)) {
      value = a.slice(name.length + 3);
      args.splice(i, 1);
      i -= 1;
    }
  }
  return value;
}

function message(err: unknown): string {
  if (err instanceof ScalewiseError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Runs one command line (without `node` and the script). @returns the exit status. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  const help = (text: string) => {
    io.stdout.write(`${text}\n`);
    return 0;
  };
  if (command === undefined || command === '-h' || command === '--help') return help(usage);
  if (command === '--version' || command === '-V' || command === 'version')
    return help(`scalewise ${cliVersion()}`);
  if (command === 'help') {
    const topic = rest[0];
    return help(topic && usages[topic] ? (usages[topic] as string) : usage);
  }
  let ctx: Context | undefined;
  const context = (args: string[]) => {
    const configPath = takeFlag(args, 'config');
    const noColour = takeFlag(args, 'no-color', true) === true;
    ctx = createContext(io, {
      ...(typeof configPath === 'string' ? { configPath } : {}),
      noColour,
    });
    return ctx;
  };
  try {
    switch (command) {
      case 'tail': {
        const o = parseTail(rest);
        return o === 'help' ? help(tailUsage) : await runTail(o, context(rest));
      }
      case 'trigger': {
        const o = parseTrigger(rest);
        return o === 'help' ? help(triggerUsage) : await runTrigger(o, context(rest));
      }
      case 'explain': {
        const o = parseExplain(rest, io.env);
        return o === 'help' ? help(explainUsage) : await runExplain(o, context(rest));
      }
      case 'status': {
        const o = parseStatus(rest, io.env);
        return o === 'help' ? help(statusUsage) : await runStatus(o, context(rest));
      }
      case 'replay':
      case 'dlq': {
        const args = [...rest];
        const c = context(args);
        const deps = rest.some((a) => a === '-h' || a === '--help' || a === 'help')
          ? { ...noClients(io), stdout: io.stdout, stderr: io.stderr }
          : c.busDeps();
        return await runBusCli([command, ...args], deps, 'scalewise');
      }
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const prefix = err.command ? `scalewise ${err.command}` : 'scalewise';
      const top = err.command?.split(' ')[0];
      const synopsis = ((top && usages[top]) || usage).split('\n\n')[0];
      const more = top && usages[top] ? `scalewise ${top} --help` : 'scalewise --help';
      io.stderr.write(`${prefix}: ${err.message}\n${synopsis}\n(more: ${more})\n`);
      return 2;
    }
    io.stderr.write(`scalewise${command ? ` ${command}` : ''}: ${message(err)}\n`);
    return 1;
  }
}

/** Clients for printing help only: loading no configuration, reaching nothing. */
function noClients(io: Io) {
  const none = () => {
    throw new ScalewiseError('INTERNAL', 'no clients when printing help');
  };
  return { kafka: none, deadLetters: none, stdout: io.stdout, stderr: io.stderr };
}
