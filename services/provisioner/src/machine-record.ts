/**
 * A machine of the reference provisioner as it keeps it (a record in a ConfigMap), and what is
 * read from one: its Node, its worker as the contract answers it, its boot delay, a name
 * conflict. Pure; machines.ts does the I/O.
 */
import { kwokNodeManifest, MANAGED_BY, type V1ConfigMap, type V1Node } from '@scalewise/kube';
import type { CreateRequest, WireWorker, WorkerTemplate } from '@scalewise/providers/provisioner-contract';

/** The label of every machine record (ConfigMap) of the reference provisioner. */
export const MACHINE_LABEL = 'provisioner.scalewise.io/machine';

/** A machine as the provisioner keeps it. */
export interface MachineRecord {
  name: string;
  pool: string;
  provider_id: string;
  idempotency_key: string;
  zone?: string;
  created_at: string;
  template: WorkerTemplate;
}

/** A contract error the routes answer with (code, status in external-contract.ts). */
export class ContractError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const recordName = (node: string) => `machine-${node}`;
export const parse = (cm: V1ConfigMap): MachineRecord | undefined => {
  try {
    return JSON.parse(cm.data?.machine ?? '') as MachineRecord;
  } catch {
    return undefined;
  }
};

/** The Node a machine registers once booted: its template, as a kubelet would register it. Pure. */
export function nodeOf(m: MachineRecord): V1Node {
  const t = m.template;
  const node = kwokNodeManifest({
    name: m.name,
    pool: m.pool,
    cpuMillicores: t.resources.cpu_millicores,
    memoryBytes: t.resources.memory_mib * 2 ** 20,
    pods: t.resources.pods,
    ...(t.resources.ephemeral_storage_mib !== undefined
      ? { ephemeralStorageBytes: t.resources.ephemeral_storage_mib * 2 ** 20 }
      : {}),
    extended: t.resources.extended_resources,
    ...(m.zone ? { zone: m.zone } : {}),
    labels: t.labels,
    taints: t.taints,
    actionId: m.idempotency_key,
  });
  // A kubelet may not register app.kubernetes.io labels: the node carries the pool label only.
  delete node.metadata?.labels?.[MANAGED_BY];
  if (node.spec) node.spec.providerID = m.provider_id;
  return node;
}

/** A machine's worker as the contract answers it. */
export const wire = (m: MachineRecord, registered: boolean): WireWorker => ({
  name: m.name,
  provider_id: m.provider_id,
  // A VM is running once its kubelet registered; Ready is Kubernetes' to say.
  state: registered ? 'running' : 'creating',
  idempotency_key: m.idempotency_key,
  ...(m.zone ? { zone: m.zone } : {}),
  created_at: m.created_at,
});

/** How long a machine takes to boot after its creation, from its template's parameters. */
export const bootDelay = (m: MachineRecord): number | 'never' => {
  if (m.template.parameters.boot === 'never') return 'never';
  const ms = Number(m.template.parameters.boot_delay_ms ?? 0);
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
};

/** NAME_CONFLICT for a requested name another request's machine has. */
export function checkNames(req: CreateRequest, byName: ReadonlyMap<string, MachineRecord>): void {
  for (const w of req.workers) {
    const m = byName.get(w.name);
    if (m && m.idempotency_key !== req.idempotency_key)
      throw new ContractError(
        'NAME_CONFLICT',
        409,
        `worker ${w.name} exists, made by another request (${m.idempotency_key})`,
      );
  }
}
