export interface Column<Row> {
  readonly header: string;
  readonly align?: 'left' | 'right';
  /** Fixed width; default: the widest of the header and the cells. */
  readonly width?: number;
  readonly value: (row: Row) => string;
}

/** Pads one row of cells to the column widths. */
export function tableLine<Row>(columns: readonly Column<Row>[], widths: readonly number[], cells: readonly string[]): string {
  return cells
    .map((cell, index) => {
      const width = widths[index] ?? 0;
      return columns[index]?.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
    })
    .join('  ')
    .trimEnd();
}

/** Column widths: fixed ones as given, the others from the header and the rows' cells. */
export function columnWidths<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): number[] {
  return columns.map((column) => column.width ?? Math.max(column.header.length, ...rows.map((row) => column.value(row).length)));
}

/** The header line and the rule under it. */
export function tableHeader<Row>(columns: readonly Column<Row>[], widths: readonly number[]): string {
  return `${tableLine(columns, widths, columns.map((column) => column.header))}\n${widths.map((width) => '-'.repeat(width)).join('  ')}`;
}

/** Cuts text to `max` characters, marking the cut with an ellipsis. */
export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
