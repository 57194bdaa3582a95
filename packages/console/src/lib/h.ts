/**
 * A tiny view description: plain objects that the pure view functions return, that unit tests
 * read without a DOM, and that `ui/dom.ts` turns into elements. Text is always text (never
 * parsed as HTML), so an event's data cannot inject markup.
 */
export type Child = VNode | string | number | false | null | undefined;
export type Handler = (ev: Event) => void;
export type Props = Record<string, string | number | boolean | Handler | undefined>;

export interface VNode {
  tag: string;
  props: Props;
  children: (VNode | string)[];
}

/** `h('li', { class: 'row', onclick }, 'text', h('b', {}, 2))`; false/null/undefined children are dropped. */
export function h(tag: string, props: Props = {}, ...children: (Child | Child[])[]): VNode {
  const out: (VNode | string)[] = [];
  for (const c of children.flat()) {
    if (c === false || c === null || c === undefined) continue;
    out.push(typeof c === 'number' ? String(c) : c);
  }
  return { tag, props, children: out };
}

/** The text a person would read, children joined by spaces where elements meet. */
export function textOf(node: VNode | string): string {
  if (typeof node === 'string') return node;
  return node.children
    .map(textOf)
    .filter((s) => s !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every node (depth first) for which `pred` holds. */
export function findAll(node: VNode, pred: (n: VNode) => boolean): VNode[] {
  const hits: VNode[] = pred(node) ? [node] : [];
  for (const c of node.children) if (typeof c !== 'string') hits.push(...findAll(c, pred));
  return hits;
}

/** Nodes whose class list contains `cls`. */
export const byClass = (node: VNode, cls: string): VNode[] =>
  findAll(node, (n) =>
    String(n.props.class ?? '')
      .split(/\s+/)
      .includes(cls),
  );
