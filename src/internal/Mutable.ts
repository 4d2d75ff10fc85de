/**
 * `T` with its fields writable: for building a readonly result on one literal and assigning its
 * optional fields only when they have a value (no spread of throw-away objects, no `undefined` fields).
 */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
