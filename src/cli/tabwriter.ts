/**
 * Go's `text/tabwriter` as fleetctl configures it (`minwidth 0, tabwidth 8, padding 1, padchar '\t', flags 0`), so
 * that tables come out byte for byte as fleetctl prints them: a column is as wide as its widest cell plus one,
 * rounded up to a multiple of 8, and padded with tabs.
 *
 * @internal
 */

interface Cell {
  readonly text: string
  readonly width: number
}

const tabwidth = 8
const padding = 1

const padTabs = (textWidth: number, cellWidth: number): string => {
  const rounded = Math.ceil(cellWidth / tabwidth) * tabwidth
  return "\t".repeat(Math.ceil((rounded - textWidth) / tabwidth))
}

// Column blocks as Go forms them: a run of consecutive lines that all have a cell in this column (the last cell of
// a line is the text after its last tab and belongs to no column).
const format = (lines: ReadonlyArray<ReadonlyArray<Cell>>, out: Array<string>): void => {
  const widths: Array<number> = []
  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!
      let text = ""
      for (let j = 0; j < line.length; j++) {
        const cell = line[j]!
        text += cell.text
        if (j < widths.length) text += padTabs(cell.width, widths[j]!)
      }
      out.push(text)
    }
  }
  const go = (line0: number, line1: number): void => {
    const column = widths.length
    for (let current = line0; current < line1; current++) {
      if (column >= lines[current]!.length - 1) continue
      writeLines(line0, current)
      line0 = current
      let width = 0
      for (; current < line1; current++) {
        const line = lines[current]!
        if (column >= line.length - 1) break
        width = Math.max(width, line[column]!.width + padding)
      }
      widths.push(width)
      go(line0, current)
      widths.pop()
      line0 = current
      current-- // the loop's increment must look at the line that ended the block again
    }
    writeLines(line0, line1)
  }
  go(0, lines.length)
}

const toCells = (line: string): Array<Cell> => line.split("\t").map((text) => ({ text, width: [...text].length }))

/**
 * Formats `text` (lines of tab-separated cells, each line ending in a newline) exactly as fleetctl's tabwriter does.
 * A line without a tab ends the lines aligned so far, as it does in Go.
 *
 * @internal
 */
export const tabulate = (text: string): string => {
  const out: Array<string> = []
  const rows = text.split("\n")
  const trailing = rows.pop() ?? ""
  let block: Array<Array<Cell>> = []
  for (const row of rows) {
    const cells = toCells(row)
    block.push(cells)
    if (cells.length === 1) {
      format(block, out)
      block = []
    }
  }
  format(block, out)
  return out.map((line) => `${line}\n`).join("") + trailing
}
