// The base class of every error abiscope raises on purpose. Bad input (a prototype, a value,
// a file), a limit, a guest fault or a guest program's own exit is one of its subclasses,
// each naming what it concerns; anything else reaching a user is a bug in abiscope.
export class AbiscopeError extends Error {
  override name = 'AbiscopeError';
}

/** An API or command-line option used wrongly: an unknown name, an option out of its range, a call in the wrong state. */
export class UsageError extends AbiscopeError {
  override name = 'UsageError';
}
