/**
 * Walking a failure's chain of causes, and the one judgement about it that the error module needs: whether it will
 * repeat on every try. Kept apart from `transport.ts` so that `FleetError` can use it without an import cycle.
 */

// Failures that repeat on every try: the endpoint is misconfigured, not momentarily away.
/**
 * Error codes of failures that repeat on every try: the endpoint is misconfigured, not momentarily away.
 *
 * @since 0.2.0
 * @internal
 */
export const permanentCodes: ReadonlySet<string> = new Set([
  "EACCES",
  "ENOTSOCK",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER"
])

/**
 * The error and everything it wraps (`cause`, an `HttpClientError`'s `reason`, an `AggregateError`'s errors).
 *
 * @since 0.2.0
 * @internal
 */
export const chain = (error: unknown): Array<unknown> => {
  const seen: Array<unknown> = []
  let current: unknown = error
  while (current !== undefined && current !== null && !seen.includes(current) && seen.length < 16) {
    seen.push(current)
    if (current instanceof AggregateError && current.errors.length > 0) seen.push(...current.errors)
    const next = current as { cause?: unknown; reason?: unknown }
    // an HttpClientError keeps the failure in `reason.cause`
    current = next.cause ?? (typeof next.reason === "object" ? next.reason : undefined)
  }
  return seen
}

/**
 * A failure's `code` (`ECONNREFUSED`, `CERT_HAS_EXPIRED`, ...) when it has a string one.
 *
 * @since 0.2.0
 * @internal
 */
export const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown })?.code
  return typeof code === "string" ? code : undefined
}

/**
 * Whether a failure will repeat however often it is retried (permission denied, TLS verification failed).
 *
 * @since 0.2.0
 * @internal
 */
export const isPermanent = (error: unknown): boolean =>
  chain(error).some((e) => {
    const code = codeOf(e)
    return code !== undefined && permanentCodes.has(code)
  })
