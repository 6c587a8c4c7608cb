import type { Spread } from './stats';

/** A table as the console and BENCHMARKS.md print it. */
export interface Table {
  caption?: string;
  columns: string[];
  rows: string[][];
}

export function fixed(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

/** `1,234` style. */
export function integer(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  return Math.round(value).toLocaleString('en-US');
}

export function percent(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return `${(value * 100).toFixed(digits)} %`;
}

export function bytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  const magnitude = Math.abs(value);
  if (magnitude >= 1024 * 1024) return `${(value / (1024 * 1024)).toFixed(2)} MiB`;
  if (magnitude >= 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${Math.round(value)} B`;
}

/** "median (min-max)", or just the value for a single round. */
export function spreadText(value: Spread, render: (value: number) => string = (v) => fixed(v)): string {
  if (value.values.length <= 1 || value.min === value.max) return render(value.median);
  return `${render(value.median)} (${render(value.min)}-${render(value.max)})`;
}

export function ratioText(value: Spread): string {
  return spreadText(value, (v) => `${fixed(v, 2)}x`);
}

export function markdownTable(table: Table): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const lines = [
    `| ${table.columns.map(escape).join(' | ')} |`,
    `|${table.columns.map((_, index) => (index === 0 ? '---' : '---:')).join('|')}|`,
    ...table.rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** A plain-text table for the terminal. */
export function consoleTable(table: Table): string {
  const widths = table.columns.map((column, index) =>
    Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, index) => (index === 0 ? cell.padEnd(widths[index]) : cell.padStart(widths[index]))).join('  ');
  const out = [];
  if (table.caption) out.push(table.caption);
  out.push(line(table.columns), widths.map((width) => '-'.repeat(width)).join('  '), ...table.rows.map(line));
  return out.join('\n');
}
