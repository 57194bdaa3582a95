/** NodeUnschedulable: a cordoned node takes no new pod (the simulation never tolerates it). */
import { type Failure, failure } from '../failure.ts';

export function checkUnschedulable(node: { name: string; unschedulable: boolean }): Failure | undefined {
  if (!node.unschedulable) return undefined;
  return failure('node_unschedulable', `node ${node.name} is cordoned (unschedulable)`, 'node is cordoned');
}
