/**
 * The reference provisioner's machines, on KWOK: a machine is a record (a ConfigMap in the
 * provisioner's namespace, so it outlives the process), and its boot creates the KWOK Node of
 * its name on the API server, registered with the template's labels, taints and size as a
 * kubelet would (no app.kubernetes.io labels: NodeRestriction forbids a kubelet those).
 *
 * This is where a provisioner for a VM API differs: `create` calls the VM API (with the
 * idempotency key as the request token or a VM tag) and gives the VM a cloud-init that runs the
 * k3s agent with `--node-name`, `--node-label` and `--node-taint`; `list` lists the API's VMs
 * tagged with the pool; `remove` deletes the VM (and its Node). See docs/providers.md.
 *
 * Template parameters this reference understands (`provider_options.parameters`):
 * `boot_delay_ms` (the VM's boot time before its node registers, default 0) and `boot: never`
 * (a VM whose kubelet never joins: what Scalewise does then is in docs/providers.md).
 */
import { randomUUID } from 'node:crypto';
import { ScalewiseError } from '@scalewise/errors';
import { deleteNode, ensureNode, isStatus, type Kube, kubeCall, POOL_LABEL } from '@scalewise/kube';
import type { CreateRequest, WireWorker } from '@scalewise/providers/provisioner-contract';
import {
  bootDelay,
  ContractError,
  checkNames,
  MACHINE_LABEL,
  type MachineRecord,
  nodeOf,
  parse,
  recordName,
  wire,
} from './machine-record.ts';

export interface Machines {
  /**
   * Creates the named machines of a pool, idempotent by key and name: a name the key made
   * already is returned as it is; a name another key made is NAME_CONFLICT.
   * @throws ContractError NAME_CONFLICT, QUOTA_EXCEEDED; ScalewiseError for the API server.
   */
  create(pool: string, req: CreateRequest): Promise<WireWorker[]>;
  list(pool: string): Promise<WireWorker[]>;
  /** Deletes a machine and its Node. @throws ContractError WORKER_NOT_FOUND for one it does not have. */
  remove(pool: string, name: string): Promise<WireWorker>;
  /** Boots the machines due (a restarted provisioner resumes their boots here). */
  reconcile(): Promise<void>;
  /** Whether the API server answers. */
  healthy(): Promise<void>;
}

export interface MachinesDeps {
  kube: Kube;
  /** Where the machine records live. */
  namespace: string;
  /** The most machines a pool may have (QUOTA_EXCEEDED past it). @default unlimited */
  maxPerPool?: number;
  now?: () => number;
}

/** The machine records of the reference provisioner, as ConfigMaps, and their KWOK Nodes. */
class KwokMachines implements Machines {
  private readonly kube: Kube;
  private readonly namespace: string;
  private readonly maxPerPool: number | undefined;
  private readonly now: () => number;

  constructor(deps: MachinesDeps) {
    this.kube = deps.kube;
    this.namespace = deps.namespace;
    this.maxPerPool = deps.maxPerPool;
    this.now = deps.now ?? Date.now;
  }

  async create(pool: string, req: CreateRequest): Promise<WireWorker[]> {
    const existing = await this.records(pool);
    const byName = new Map(existing.map((m) => [m.name, m]));
    const fresh = req.workers.filter((w) => !byName.has(w.name));
    checkNames(req, byName);
    if (this.maxPerPool !== undefined && existing.length + fresh.length > this.maxPerPool)
      throw new ContractError(
        'QUOTA_EXCEEDED',
        422,
        `pool ${pool} has ${existing.length} machines; ${fresh.length} more would pass its quota of ${this.maxPerPool}`,
      );
    const out = await this.recordAll(pool, req, byName);
    // Boot what is due now; the rest boots in the reconcile loop.
    for (const m of out) await this.boot(m);
    const nodes = await this.nodesOf(pool);
    return out.map((m) => wire(m, nodes.has(m.name)));
  }

  async list(pool: string): Promise<WireWorker[]> {
    const [ms, nodes] = await Promise.all([this.records(pool), this.nodesOf(pool)]);
    return ms.map((m) => wire(m, nodes.has(m.name))).sort((a, b) => a.name.localeCompare(b.name));
  }

  async remove(pool: string, name: string): Promise<WireWorker> {
    const m = await this.read(name);
    // Never a machine it does not have: a Node of that name is someone else's.
    if (!m || m.pool !== pool)
      throw new ContractError('WORKER_NOT_FOUND', 404, `no worker ${name} in pool ${pool}`);
    await deleteNode(this.kube, name);
    try {
      await kubeCall(`deleting machine ${name}`, () =>
        this.kube.core.deleteNamespacedConfigMap({ namespace: this.namespace, name: recordName(name) }),
      );
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    return { ...wire(m, false), state: 'deleting' };
  }

  async reconcile(): Promise<void> {
    const pending = await this.records();
    const byPool = new Map<string, MachineRecord[]>();
    for (const m of pending) byPool.set(m.pool, [...(byPool.get(m.pool) ?? []), m]);
    for (const [pool, ms] of byPool) {
      const nodes = await this.nodesOf(pool);
      for (const m of ms) if (!nodes.has(m.name)) await this.boot(m);
    }
  }

  async healthy(): Promise<void> {
    const ns = await kubeCall('reading the namespace', () =>
      this.kube.core.readNamespace({ name: this.namespace }),
    );
    // The API server refuses new records in a namespace being deleted.
    if (ns.status?.phase === 'Terminating')
      throw new Error(`the machine records' namespace ${this.namespace} is being deleted`);
  }

  /**
   * The machine of each requested worker, in the request's order: the one it had, else a new
   * record; NAME_CONFLICT when a concurrent create of another request wrote the name first.
   */
  private async recordAll(
    pool: string,
    req: CreateRequest,
    byName: ReadonlyMap<string, MachineRecord>,
  ): Promise<MachineRecord[]> {
    const out: MachineRecord[] = [];
    for (const w of req.workers) {
      const had = byName.get(w.name);
      const m =
        had ??
        (await this.write({
          name: w.name,
          pool,
          idempotency_key: req.idempotency_key,
          ...(w.zone ? { zone: w.zone } : {}),
          created_at: new Date(this.now()).toISOString(),
          template: req.template,
        }));
      if (m.idempotency_key !== req.idempotency_key)
        throw new ContractError('NAME_CONFLICT', 409, `worker ${w.name} exists, made by another request`);
      out.push(m);
    }
    return out;
  }

  private async records(pool?: string): Promise<MachineRecord[]> {
    const list = await kubeCall('listing machines', () =>
      this.kube.core.listNamespacedConfigMap({
        namespace: this.namespace,
        labelSelector: pool ? `${MACHINE_LABEL}=true,${POOL_LABEL}=${pool}` : `${MACHINE_LABEL}=true`,
      }),
    );
    return list.items.flatMap((cm) => {
      const m = parse(cm);
      return m && !cm.metadata?.deletionTimestamp ? [m] : [];
    });
  }

  private async nodesOf(pool: string): Promise<Set<string>> {
    const list = await kubeCall('listing nodes', () =>
      this.kube.core.listNode({ labelSelector: `${POOL_LABEL}=${pool}` }),
    );
    return new Set(
      list.items.flatMap((n) => (n.metadata?.name && !n.metadata.deletionTimestamp ? [n.metadata.name] : [])),
    );
  }

  private async boot(m: MachineRecord): Promise<void> {
    const delay = bootDelay(m);
    if (delay === 'never' || Date.parse(m.created_at) + delay > this.now()) return;
    await ensureNode(this.kube, nodeOf(m));
  }

  private async read(name: string): Promise<MachineRecord | undefined> {
    try {
      const cm = await kubeCall(`reading machine ${name}`, () =>
        this.kube.core.readNamespacedConfigMap({ namespace: this.namespace, name: recordName(name) }),
      );
      return cm.metadata?.deletionTimestamp ? undefined : parse(cm);
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** Writes a new machine record, its provider id chosen here; the one a concurrent create of the same name wrote wins. */
  private async write(m: Omit<MachineRecord, 'provider_id'>): Promise<MachineRecord> {
    try {
      // The provider id is chosen before the one write, as a VM API names its VM at creation:
      // a record is never seen without it (a reconcile between two writes would boot a Node
      // without its providerID).
      const made = { ...m, provider_id: `reference://${randomUUID()}` };
      await kubeCall(`recording machine ${m.name}`, () =>
        this.kube.core.createNamespacedConfigMap({
          namespace: this.namespace,
          body: {
            metadata: {
              name: recordName(m.name),
              labels: { [MACHINE_LABEL]: 'true', [POOL_LABEL]: m.pool },
              annotations: { 'provisioner.scalewise.io/idempotency-key': m.idempotency_key },
            },
            data: { machine: JSON.stringify(made) },
          },
        }),
      );
      return made;
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      const other = await this.read(m.name);
      if (!other) throw new ScalewiseError('CONFLICT', `machine ${m.name} is being deleted`, { cause: err });
      return other;
    }
  }
}

export function createMachines(deps: MachinesDeps): Machines {
  return new KwokMachines(deps);
}
