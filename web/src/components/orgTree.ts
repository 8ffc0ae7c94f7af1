// The org directory (region → branch → teller) as the tree a cohort picker
// shows: each node's value is "level:code".
import type { Schemas } from '../api/client';

type Unit = Schemas['OrgUnit'];

export interface TreeNode {
  value: string;
  title: string;
  children: TreeNode[];
}

/** orgTree turns the flat org directory into the tree the cohort picker shows. */
export function orgTree(units: Unit[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const u of units) nodes.set(u.code ?? '', { value: `${u.level}:${u.code}`, title: `${u.name} (${u.code})`, children: [] });
  const roots: TreeNode[] = [];
  for (const u of units) {
    const n = nodes.get(u.code ?? '')!;
    const parent = u.parent ? nodes.get(u.parent) : undefined;
    (parent ? parent.children : roots).push(n);
  }
  return roots;
}

/** picked reads the codes of one level (region, branch, teller) from the tree's picked values. */
export function picked(picks: string[], level: string): string[] {
  return picks.filter((p) => p.startsWith(level + ':')).map((p) => p.slice(level.length + 1));
}
