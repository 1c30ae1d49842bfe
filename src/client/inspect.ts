/**
 * Makes util.inspect (console.log) show an object's toJSON() instead of its fields, so credentials held in
 * private fields or getters never reach a log. Installed as a non-enumerable own property rather than a computed
 * class member, which keeps the published declarations free of it.
 */
import { inspect } from 'node:util';

export function inspectAsJson(target: { toJSON(): Record<string, unknown> }, label: string): void {
  Object.defineProperty(target, inspect.custom, {
    value: (): string => `${label} ${inspect(target.toJSON())}`,
    enumerable: false,
  });
}
