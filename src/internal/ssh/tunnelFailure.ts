/**
 * A failure of the SSH tunnel underneath an HTTP request. Transports throw (or hand undici) this error so that
 * the client's error mapping can tell a tunnel failure from a plain socket failure, whatever wraps it on the way.
 */
export const TunnelFailureTypeId: unique symbol = Symbol.for("effect-fleet/TunnelFailure")

export class TunnelFailure extends Error {
  readonly [TunnelFailureTypeId] = TunnelFailureTypeId
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = "TunnelFailure"
  }
}

export const isTunnelFailure = (u: unknown): u is TunnelFailure =>
  typeof u === "object" && u !== null && TunnelFailureTypeId in u
