/**
 * The one sanitiser for text that did not come from onramp (server answers, callback parameters, stored
 * values a server once sent), made safe to print (client.md "Security rules"): a hostile server must not
 * be able to move the cursor, rewrite earlier lines, set the window title, plant OSC 8 links, reorder
 * text on screen, or forge an output line of its own.
 *
 * - `serverText(value)`: one server-provided field (an id, a scope, an email, an error description) as
 *   it goes into a message or a rendered line: escapes removed whole, every other control character and
 *   line break turned into a space, trimmed, length capped. One field stays on one line.
 * - `terminalSafe(text)`: the last guard on a whole message onramp composed (ui.info, ui.warn, the error
 *   renderer): the same escapes and controls removed, but onramp's own newlines and tabs kept.
 */

// ESC-introduced sequences first, so their parameters go with them: OSC/DCS/SOS/PM/APC strings up to
// BEL or ST, CSI up to its final byte, then any other two-byte escape. The 8-bit C1 forms likewise.
const SEQUENCES = new RegExp(
  [
    '\\u001b[\\]PX^_][\\s\\S]*?(?:\\u0007|\\u001b\\\\|$)', // OSC, DCS, SOS, PM, APC (7-bit)
    '[\\u009d\\u0090\\u0098\\u009e\\u009f][\\s\\S]*?(?:\\u0007|\\u009c|\\u001b\\\\|$)', // the same, 8-bit
    '(?:\\u001b\\[|\\u009b)[\\u0030-\\u003f]*[\\u0020-\\u002f]*[\\u0040-\\u007e]?', // CSI
    '\\u001b[\\u0020-\\u002f]*[\\u0030-\\u007e]?', // any other escape (charset, keypad, reset...)
  ].join('|'),
  'g',
)

// C0 controls except tab and newline, DEL, C1 controls, and the bidi controls that reorder what is shown
// (LRE/RLE/PDF/LRO/RLO, the isolates, the marks; Trojan Source, CVE-2021-42574).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

// Everything that breaks or bends a line inside one field: the controls above plus tab, newline, the
// Unicode line and paragraph separators, and the zero-width characters that hide text.
// eslint-disable-next-line no-control-regex
const FIELD_BREAKS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]+/g

/** Longest server field shown; longer ones are cut with an ellipsis (a server cannot flood the screen). */
export const MAX_FIELD_LENGTH = 300

/** `text` without control characters and terminal escape sequences; newlines and tabs are kept. */
export function terminalSafe(text: string): string {
  return text.replace(SEQUENCES, '').replace(CONTROLS, '')
}

/**
 * One server-provided value, safe to put inside a line of ours: escape sequences removed, line breaks
 * and other controls turned into one space, trimmed, at most `maxLength` characters (then "…").
 * Non-strings are shown through String() so a number or null from a server is handled the same way.
 */
export function serverText(value: unknown, maxLength: number = MAX_FIELD_LENGTH): string {
  const text = typeof value === 'string' ? value : String(value)
  const oneLine = text.replace(SEQUENCES, '').replace(FIELD_BREAKS, ' ').replace(/ {2,}/g, ' ').trim()
  return oneLine.length > maxLength ? `${oneLine.slice(0, maxLength)}…` : oneLine
}
