/**
 * NodePorts: a pod's hostPort conflicts with one in use on the node when port and protocol
 * are equal and the host IPs overlap (0.0.0.0, or none given, overlaps every address).
 */
import { type Failure, failure } from '../failure.ts';
import type { SimPod } from '../types.ts';

export interface PortUse {
  port: number;
  protocol: string;
  hostIP: string;
}

export interface PortInUse extends PortUse {
  /** Key of the pod holding the port. */
  pod: string;
}

const ANY = '0.0.0.0';

/** The pod's host ports with their defaults filled in (port 0 is no host port). */
export function podPorts(pod: SimPod): PortUse[] {
  const out: PortUse[] = [];
  for (const p of pod.hostPorts ?? []) {
    if (!(p.port > 0)) continue;
    out.push({ port: p.port, protocol: p.protocol || 'TCP', hostIP: p.hostIP || ANY });
  }
  return out;
}

export function portsConflict(a: PortUse, b: PortUse): boolean {
  return (
    a.port === b.port &&
    a.protocol === b.protocol &&
    (a.hostIP === b.hostIP || a.hostIP === ANY || b.hostIP === ANY)
  );
}

export function checkHostPorts(wanted: readonly PortUse[], used: readonly PortInUse[]): Failure | undefined {
  if (wanted.length === 0 || used.length === 0) return undefined;
  for (const w of wanted) {
    for (const u of used) {
      if (portsConflict(w, u)) {
        const port = `${w.port}/${w.protocol}`;
        return failure('host_ports', `host port ${port} in use by ${u.pod}`, `host port ${port} in use`);
      }
    }
  }
  return undefined;
}
