// Where a board's panels go, as Grafana places them: rows (expanded, with
// their panels following in the top-level list, or collapsed, holding them),
// panels and rows repeated per value of a variable, and the 24-column grid
// compacted upwards the way Grafana's grid compacts it.

import { bindVariable, repeatValues, type Variable } from "./variables";

export interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LayoutPanel {
  type: string;
  gridPos?: GridPos;
  collapsed?: boolean;
  panels?: LayoutPanel[];
  repeat?: string;
  repeatDirection?: string;
  maxPerRow?: number;
  /** Set on copies an older Grafana saved with the board; we make our own. */
  repeatPanelId?: number;
}

export interface Placed<P> {
  panel: P;
  /** The variables as this copy sees them: a repeat's variable bound to its one value. */
  vars: Variable[];
  pos: GridPos;
  /** Identifies a row copy across redraws, so its collapsed state survives them. */
  key: string;
  collapsed: boolean;
  /** For a collapsed row, how many panels it holds. */
  hidden: number;
}

const COLUMNS = 24;
const DEFAULT_POS: GridPos = { x: 0, y: 0, w: 12, h: 8 };

function posOf(p: LayoutPanel): GridPos {
  const g = p.gridPos ?? DEFAULT_POS;
  const w = Math.min(Math.max(Math.round(g.w) || 1, 1), COLUMNS);
  return { x: Math.min(Math.max(Math.round(g.x) || 0, 0), COLUMNS - w), y: Math.max(Math.round(g.y) || 0, 0), w, h: Math.max(Math.round(g.h) || 1, 1) };
}

function collides(a: GridPos, b: GridPos): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Moves every item as far up as it goes without overlapping the ones above it (Grafana's vertical compaction). */
export function compact(items: GridPos[]): void {
  const order = items.map((_, i) => i).sort((a, b) => items[a].y - items[b].y || items[a].x - items[b].x || a - b);
  const done: GridPos[] = [];
  for (const i of order) {
    const l = items[i];
    while (l.y > 0 && !done.some((d) => collides(d, { ...l, y: l.y - 1 }))) l.y--;
    for (let hit = done.find((d) => collides(d, l)); hit; hit = done.find((d) => collides(d, l))) l.y = hit.y + hit.h;
    done.push(l);
  }
}

/** A panel's copies, one per value of its repeat variable, placed as Grafana's repeatPanel places them. */
function repeatPanel<P extends LayoutPanel>(p: P, pos: GridPos, vars: Variable[]): { panel: P; vars: Variable[]; pos: GridPos }[] {
  const values = p.repeat ? repeatValues(vars, p.repeat) : null;
  if (!p.repeat || !values || !values.length) return [{ panel: p, vars, pos }];
  if (p.repeatDirection === "v") {
    return values.map((v, i) => ({ panel: p, vars: bindVariable(vars, p.repeat as string, v), pos: { ...pos, y: pos.y + i * pos.h } }));
  }
  const perRow = p.maxPerRow && p.maxPerRow > 0 ? p.maxPerRow : 4;
  const w = Math.max(Math.floor(Math.max(COLUMNS / values.length, COLUMNS / perRow)), 1);
  let x = 0;
  let y = pos.y;
  return values.map((v) => {
    const copy = { panel: p, vars: bindVariable(vars, p.repeat as string, v), pos: { x, y, w, h: pos.h } };
    x += w;
    if (x + w > COLUMNS) {
      x = 0;
      y += pos.h;
    }
    return copy;
  });
}

/**
 * The panels of one section (before the first row, or under one row), from
 * y = 0: in grid order, each repeat's copies pushing the panels after it down
 * by the height they add (except those beside the original), then compacted.
 */
function placeSection<P extends LayoutPanel>(children: P[], vars: Variable[], key: string): Placed<P>[] {
  if (!children.length) return [];
  const base = Math.min(...children.map((c) => posOf(c).y));
  const items = children.map((c, i) => ({ c, i, pos: posOf(c) }));
  items.sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x || a.i - b.i);
  const out: Placed<P>[] = [];
  items.forEach(({ c, i, pos }, k) => {
    pos.y -= base;
    const copies = repeatPanel(c, pos, vars);
    copies.forEach((copy, j) => out.push({ ...copy, key: `${key}.${i}.${j}`, collapsed: false, hidden: 0 }));
    const added = Math.max(...copies.map((x) => x.pos.y)) - pos.y;
    if (added <= 0) return;
    for (const later of items.slice(k + 1)) if (later.pos.y !== pos.y + base) later.pos.y += added;
  });
  compact(out.map((o) => o.pos));
  return out;
}

/**
 * Every panel and row to draw, with its grid position and its variables.
 * `collapsed` holds the rows the viewer opened or closed, by key; rows not in
 * it start as the file says.
 */
export function layoutBoard<P extends LayoutPanel>(panels: P[], vars: Variable[], collapsed: Map<string, boolean>): Placed<P>[] {
  const sections: { row: P | null; index: number; children: P[] }[] = [{ row: null, index: -1, children: [] }];
  panels.forEach((p, i) => {
    if (p.repeatPanelId !== undefined) return;
    if (p.type === "row") sections.push({ row: p, index: i, children: ((p.panels ?? []) as P[]).filter((c) => c.repeatPanelId === undefined) });
    else sections[sections.length - 1].children.push(p);
  });
  const out: Placed<P>[] = [];
  let cursor = 0;
  const add = (placed: Placed<P>[]): void => {
    let bottom = cursor;
    for (const o of placed) {
      o.pos.y += cursor;
      bottom = Math.max(bottom, o.pos.y + o.pos.h);
      out.push(o);
    }
    cursor = bottom;
  };
  for (const s of sections) {
    if (!s.row) {
      add(placeSection(s.children, vars, "top"));
      continue;
    }
    const row = s.row;
    const values = row.repeat ? repeatValues(vars, row.repeat) : null;
    const copies = values && values.length ? values.map((v) => ({ vars: bindVariable(vars, row.repeat as string, v), tag: `=${v}` })) : [{ vars, tag: "" }];
    for (const copy of copies) {
      const key = `row${s.index}${copy.tag}`;
      const isCollapsed = collapsed.get(key) ?? Boolean(row.collapsed);
      out.push({ panel: row, vars: copy.vars, pos: { x: 0, y: cursor, w: COLUMNS, h: 1 }, key, collapsed: isCollapsed, hidden: s.children.length });
      cursor += 1;
      if (!isCollapsed) add(placeSection(s.children, copy.vars, key));
    }
  }
  return out;
}
