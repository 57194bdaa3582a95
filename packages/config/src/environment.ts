/**
 * The environment variables that are not overrides of a YAML key (those are `envBindings`,
 * load.ts): the Docker provider's engine and agent settings, where alert-manager finds the
 * console's build, and the `scalewise-bus` binary's endpoints. Each is read here and nowhere
 * else; a composition root (a `main.ts`) passes `process.env` in and hands the typed result on.
 * Documented in docs/configuration.md.
 */

/** Where a variable of {@link processBindings} is used. */
export type ProcessBindingUse = 'docker provider' | 'alert-manager' | 'scalewise-bus';

/** One variable that is not a YAML key's override. */
export interface ProcessBinding {
  env: string;
  use: ProcessBindingUse;
  /** What it means, for the docs and `--help`. */
  meaning: string;
}

/** Every variable read besides `envBindings`, in the order of the docs. */
export const processBindings: readonly ProcessBinding[] = [
  {
    env: 'DOCKER_HOST',
    use: 'docker provider',
    meaning: 'the Docker engine: unix:///path or tcp://host:port (default unix:///var/run/docker.sock)',
  },
  {
    env: 'DOCKER_API_VERSION',
    use: 'docker provider',
    meaning: 'speak this Docker API version instead of negotiating',
  },
  {
    env: 'DOCKER_NETWORK',
    use: 'docker provider',
    meaning: "the agents' network, unless the pool names one",
  },
  {
    env: 'K3S_URL',
    use: 'docker provider',
    meaning: "the k3s server the agents join, unless the pool's server_url",
  },
  { env: 'K3S_TOKEN', use: 'docker provider', meaning: 'the join token' },
  {
    env: 'K3S_TOKEN_FILE',
    use: 'docker provider',
    meaning: 'a file holding the join token (read again on each use)',
  },
  { env: 'K3S_AGENT_IMAGE', use: 'docker provider', meaning: "the agents' image, unless the pool names one" },
  {
    env: 'SCALEWISE_CONSOLE_DIR',
    use: 'alert-manager',
    meaning: "the web console's build to serve, instead of the one beside the service",
  },
];

/**
 * The Docker provider's variables, as {@link dockerEnvironment} picks them (a type literal, so
 * that it passes where a plain record of variables is asked for).
 */
export type DockerEnvironment = {
  DOCKER_HOST?: string | undefined;
  DOCKER_API_VERSION?: string | undefined;
  DOCKER_NETWORK?: string | undefined;
  K3S_URL?: string | undefined;
  K3S_TOKEN?: string | undefined;
  K3S_TOKEN_FILE?: string | undefined;
  K3S_AGENT_IMAGE?: string | undefined;
};

type Env = Record<string, string | undefined>;

/** The Docker provider's variables of `env`, and no other (a provider sees no secret it does not use). Pure. */
export function dockerEnvironment(env: Env): DockerEnvironment {
  const picked: DockerEnvironment = {};
  for (const { env: name, use } of processBindings) {
    if (use === 'docker provider' && env[name] !== undefined) {
      picked[name as keyof DockerEnvironment] = env[name];
    }
  }
  return picked;
}

/** The console's build directory SCALEWISE_CONSOLE_DIR names; undefined when unset or empty. Pure. */
export function consoleDirectory(env: Env): string | undefined {
  return env.SCALEWISE_CONSOLE_DIR || undefined;
}
