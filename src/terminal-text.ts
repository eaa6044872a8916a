/**
 * Text from a server or a callback (error descriptions, user names, emails, provisioning messages),
 * made safe to print (client.md "Security rules"): a hostile server must not be able to move the
 * cursor, rewrite earlier lines, set the window title, plant OSC 8 links or reorder text on screen.
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

/** `text` without control characters and terminal escape sequences; newlines and tabs are kept. */
export function terminalSafe(text: string): string {
  return text.replace(SEQUENCES, '').replace(CONTROLS, '')
}

/** terminalSafe for optional values: undefined and null pass through. */
export function terminalSafeOptional<T extends string | null | undefined>(text: T): T {
  return (typeof text === 'string' ? terminalSafe(text) : text) as T
}
