/**
 * A failure of the SSH tunnel underneath an HTTP request. Transports throw (or hand undici) this error so that
 * the client's error mapping can tell a tunnel failure from a plain socket failure, whatever wraps it on the way.
 *
 * @since 0.2.0
 */

/**
 * Marks a `TunnelFailure`, so that it is recognised across copies of this module.
 *
 * @since 0.2.0
 * @internal
 */
export const TunnelFailureTypeId: unique symbol = Symbol.for("effect-fleet/TunnelFailure")

/**
 * A failure of the SSH tunnel, carrying the message python-fleet gives for it.
 *
 * @since 0.2.0
 * @internal
 */
export class TunnelFailure extends Error {
  readonly [TunnelFailureTypeId] = TunnelFailureTypeId
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = "TunnelFailure"
  }
}

/**
 * Whether a value is a `TunnelFailure`, whichever copy of this module made it.
 *
 * @since 0.2.0
 * @internal
 */
export const isTunnelFailure = (u: unknown): u is TunnelFailure =>
  typeof u === "object" && u !== null && TunnelFailureTypeId in u
