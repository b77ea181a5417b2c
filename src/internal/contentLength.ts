/**
 * The `Content-Length` rule shared by the client (an answer's length) and the local server (a request's): a header of
 * decimal digits only declares a length; anything else declares none.
 *
 * @since 0.2.0
 * @internal
 */

/**
 * A body's declared length: a number when the header is one, else `undefined` (chunked, or garbage).
 *
 * @since 0.2.0
 * @internal
 */
export const declaredLength = (header: string | undefined): number | undefined =>
  header === undefined || !/^\d+$/.test(header) ? undefined : Number(header)
