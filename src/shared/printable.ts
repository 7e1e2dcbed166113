/**
 * Text from scenario files and modules (names, descriptions, thrown messages, violation
 * messages) made safe for a terminal: no control characters (no escape sequences, no NUL) and
 * no bidirectional overrides (a name holding U+202E must not reorder what follows it). Not
 * the report's formatting.
 */

/** C0 and C1 controls (newline and tab kept by terminalText), bidi marks and overrides. */
const UNSAFE =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const MESSAGE_CHARS_MAX = 1000;

/** One line safe to print: every control character becomes '?', bounded length. */
export function printable(message: string): string {
  const clean = terminalText(message).replace(/[\n\t]/g, '?');
  return clean.length > MESSAGE_CHARS_MAX ? `${clean.slice(0, MESSAGE_CHARS_MAX)}…` : clean;
}

/** Text of many lines safe to print: newlines and tabs kept, other controls become '?'. */
export function terminalText(text: string): string {
  return text.replace(UNSAFE, '?');
}

/** JSON safe to print: the same characters as \u escapes, so the JSON means the same. */
export function terminalJson(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
