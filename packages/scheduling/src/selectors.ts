/**
 * Label selectors (metav1.LabelSelector) and node selector requirements as kube-scheduler
 * evaluates them, with a canonical key and a short display form for each.
 */
import type {
  LabelSelector,
  LabelSelectorRequirement,
  NodeSelectorRequirement,
  NodeSelectorTerm,
} from './types.ts';

type Labels = Readonly<Record<string, string>>;

function requirementMatches(r: LabelSelectorRequirement, labels: Labels): boolean {
  const v = labels[r.key];
  switch (r.operator) {
    case 'In':
      return v !== undefined && (r.values ?? []).includes(v);
    case 'NotIn':
      return v === undefined || !(r.values ?? []).includes(v);
    case 'Exists':
      return v !== undefined;
    case 'DoesNotExist':
      return v === undefined;
    default:
      // An operator the API would reject: it matches nothing rather than everything.
      return false;
  }
}

/**
 * Whether `labels` satisfy the selector: matchLabels AND matchExpressions. An empty selector
 * ({}) matches everything; an absent one matches nothing (the rule for affinity terms and
 * spread constraints).
 */
export function matchesLabelSelector(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (selector === undefined) return false;
  if (selector.matchLabels) {
    for (const k in selector.matchLabels) {
      if (labels[k] !== selector.matchLabels[k]) return false;
    }
  }
  if (selector.matchExpressions) {
    for (const r of selector.matchExpressions) {
      if (!requirementMatches(r, labels)) return false;
    }
  }
  return true;
}

function parseInteger(s: string | undefined): number | undefined {
  if (s === undefined || !/^-?\d+$/.test(s)) return undefined;
  return Number(s);
}

/** One node selector requirement against a node's labels (matchExpressions). */
export function nodeRequirementMatches(r: NodeSelectorRequirement, labels: Labels): boolean {
  switch (r.operator) {
    case 'Gt':
    case 'Lt': {
      const have = parseInteger(labels[r.key]);
      const want = parseInteger(r.values?.[0]);
      if (have === undefined || want === undefined) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return requirementMatches(r, labels);
  }
}

/** One field requirement: only `metadata.name` with In or NotIn is defined. */
function fieldRequirementMatches(r: NodeSelectorRequirement, nodeName: string): boolean {
  if (r.key !== 'metadata.name') return false;
  if (r.operator === 'In') return (r.values ?? []).includes(nodeName);
  if (r.operator === 'NotIn') return !(r.values ?? []).includes(nodeName);
  return false;
}

/** A term's requirements are ANDed; a term with none matches no node (as in Kubernetes). */
export function nodeTermMatches(term: NodeSelectorTerm, labels: Labels, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!nodeRequirementMatches(r, labels)) return false;
  for (const r of fields) if (!fieldRequirementMatches(r, nodeName)) return false;
  return true;
}

function showRequirement(r: { key: string; operator: string; values?: readonly string[] }): string {
  if (r.operator === 'Exists' || r.operator === 'DoesNotExist') return `${r.key} ${r.operator}`;
  return `${r.key} ${r.operator} [${(r.values ?? []).join(',')}]`;
}

/** "zone In [z1], disktype=ssd" for a term. */
export function showNodeTerm(term: NodeSelectorTerm): string {
  return [...(term.matchExpressions ?? []), ...(term.matchFields ?? [])].map(showRequirement).join(', ');
}

/** "app=web, tier In [a,b]"; "all pods" for {}; "no pods" for an absent selector. */
export function showSelector(selector: LabelSelector | undefined): string {
  if (selector === undefined) return 'no pods';
  const parts = [
    ...Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector.matchExpressions ?? []).map(showRequirement),
  ];
  return parts.length === 0 ? 'all pods' : parts.join(', ');
}

const keys = new WeakMap<LabelSelector, string>();

/** A canonical string for a selector: equal selectors, however written, get the same key. */
export function selectorKey(selector: LabelSelector | undefined): string {
  if (selector === undefined) return '-';
  const cached = keys.get(selector);
  if (cached !== undefined) return cached;
  const labels = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const exprs = (selector.matchExpressions ?? [])
    .map((r) => `${r.key} ${r.operator} ${[...(r.values ?? [])].sort().join(',')}`)
    .sort();
  const key = JSON.stringify([labels, exprs]);
  keys.set(selector, key);
  return key;
}
