declare const tokenType: unique symbol;

/**
 * A dependency-injection token: a unique symbol that carries the type it resolves to.
 * Tokens are symbols, never strings, so two plugins cannot collide by name. The phantom
 * member makes `Token<A>` and `Token<B>` incompatible at compile time.
 */
export type Token<T> = symbol & { readonly [tokenType]: (value: T) => T };

export function createToken<T>(description: string): Token<T> {
  return Symbol(description) as Token<T>;
}
