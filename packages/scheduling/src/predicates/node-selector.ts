/**
 * NodeAffinity: the pod's nodeSelector (every pair on the node) and its required node
 * affinity (terms ORed; a term's expressions and fields ANDed; In, NotIn, Exists,
 * DoesNotExist, Gt, Lt; matchFields on metadata.name).
 */
import { type Failure, failure } from '../failure.ts';
import { nodeTermMatches, showNodeTerm } from '../selectors.ts';
import type { SimPod } from '../types.ts';

export function checkNodeSelector(
  pod: Pick<SimPod, 'nodeSelector' | 'nodeAffinity'>,
  labels: Readonly<Record<string, string>>,
  nodeName: string,
): Failure | undefined {
  if (pod.nodeSelector) {
    for (const k in pod.nodeSelector) {
      const want = pod.nodeSelector[k];
      const have = labels[k];
      if (have !== want) {
        const msg = `node selector: ${k}=${want} not on node`;
        return failure('node_selector', have === undefined ? msg : `${msg} (it has ${k}=${have})`, msg);
      }
    }
  }
  const terms = pod.nodeAffinity;
  if (terms && terms.length > 0) {
    for (const t of terms) if (nodeTermMatches(t, labels, nodeName)) return undefined;
    return failure(
      'node_affinity',
      `node affinity: no term matches (${terms.map(showNodeTerm).join(' or ')})`,
    );
  }
  return undefined;
}
