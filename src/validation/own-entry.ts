/**
 * Copies client-named entries (map keys, attribute names) into new objects. Plain assignment of
 * `__proto__` would set the prototype instead of an entry, so that one name is defined; every
 * other name is assigned, which keeps the object fast.
 */
export function setOwnEntry<T>(target: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else target[name] = value;
}
