/** Turns the pure views' descriptions into DOM nodes. */
import type { VNode } from '../lib/h.ts';

const SVG = 'http://www.w3.org/2000/svg';

export function toDom(node: VNode | string, inSvg = false): Node {
  if (typeof node === 'string') return document.createTextNode(node);
  const svg = inSvg || node.tag === 'svg';
  const el = svg ? document.createElementNS(SVG, node.tag) : document.createElement(node.tag);
  for (const [k, v] of Object.entries(node.props)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of node.children) el.appendChild(toDom(c, svg && node.tag !== 'foreignObject'));
  return el;
}

/** Replaces the children of `el` with the view. */
export function mount(el: Element, ...views: (VNode | string)[]): void {
  el.replaceChildren(...views.map((v) => toDom(v)));
}

/** The element with this id; throws naming it when the page lacks it (a build mistake). */
export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}
