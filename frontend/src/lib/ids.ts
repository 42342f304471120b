/** Identifiers in the contract's `Id` alphabet (letters, digits, `_.:@-`). */

export const ID_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

function hex(bytes: number): string {
  const data = new Uint8Array(bytes);
  crypto.getRandomValues(data);
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function newId(prefix: string): string {
  return `${prefix}_${hex(16)}`;
}

export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}
