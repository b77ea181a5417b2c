/**
 * The modules the client loads on first use rather than at import: each `import()` is started once and its promise
 * kept, because a repeated `import()` of a loaded module still resolves its specifier again (package.json reads and
 * file stats on every layer build).
 */
import * as Effect from "effect/Effect"

const once = <A>(load: () => Promise<A>): Effect.Effect<A> => {
  let loading: Promise<A> | undefined
  return Effect.promise(() => {
    loading ??= load()
    return loading
  })
}

/** undici, for the transports of `Fleet.layer` over TCP, HTTPS and unix sockets. */
export const undici = once(() => import("@effect/platform-node/Undici"))

/** The SSH transports (and with them ssh2). */
export const fleetSsh = once(() => import("../../FleetSsh.ts"))

/** platform-node's HTTP client, whose `Dispatcher` service the SSH tunnel provides. */
export const nodeHttpClient = once(() => import("@effect/platform-node/NodeHttpClient"))

/** Effect's `HttpClient` and `Send` over it, for `Fleet.layerHttpClient`, `make` and `probe`. */
export const overHttpClient = once(() =>
  Promise.all([import("effect/http/HttpClient"), import("./overHttpClient.ts")]).then(([Http, Over]) => ({
    HttpClient: Http.HttpClient,
    sendWith: Over.sendWith
  }))
)
