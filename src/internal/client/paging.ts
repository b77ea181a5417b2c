/**
 * The guard every paged listing of the client shares: fleet's next-page tokens move forward, so a token seen twice
 * in one listing means the server is going round in circles and the listing would never end.
 */
import { TransportError } from "../../FleetError.ts"

/**
 * A guard for one listing: given each next-page token in turn, it answers the failure to stop with when the token
 * was already seen in this listing, `undefined` otherwise.
 *
 * @since 0.2.0
 * @internal
 */
export const repeatedTokenGuard = (label: string): ((next: string) => TransportError | undefined) => {
  const seen = new Set<string>()
  return (next) => {
    if (!seen.has(next)) {
      seen.add(next)
      return undefined
    }
    return new TransportError({
      reason: "MalformedResponse",
      message:
        `${label}: fleet sent the next-page token ${JSON.stringify(next)} a second time in one listing` +
        ` (after ${seen.size} page${seen.size === 1 ? "" : "s"}); the listing would never end`
    })
  }
}
