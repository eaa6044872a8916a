/** A plain left-aligned text table; the last column is not padded so long text wraps naturally. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)))
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}

export function yesNo(value: boolean): string {
  return value ? 'yes' : '-'
}

export function listOrDash(values: readonly string[]): string {
  return values.length > 0 ? values.join(', ') : '-'
}
