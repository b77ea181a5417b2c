/**
 * The modules the client loads on first use rather than at import: each `import()` is started once and its promise
 * kept, because a repeated `import()` of a loaded module still resolves its specifier again (package.json reads and
 * file stats on every layer build).
 *
 * A failed import is a defect, not a typed error: every module here is this package's own or a declared dependency
 * or peer, so one that does not load is a broken installation, which no caller can handle or retry away, and a
 * typed error would put a case no program can act on into every layer's error channel.
 */
import * as Effect from "effect/Effect"

const once = <A>(load: () => Promise<A>): Effect.Effect<A> => {
  let loading: Promise<A> | undefined
  return Effect.promise(() => {
    loading ??= load()
    return loading
  })
}

/**
 * The SSH transports (and with them ssh2).
 *
 * @since 0.2.0
 * @internal
 */
export const fleetSsh = once(() => import("../../FleetSsh.ts"))

/**
 * The SSH connection service, for an ssh2 `Client` the caller owns.
 *
 * @since 0.2.0
 * @internal
 */
export const sshConnection = once(() => import("../../SshConnection.ts"))

/**
 * platform-node's HTTP client, whose `Dispatcher` service the SSH transports provide.
 *
 * @since 0.2.0
 * @internal
 */
export const nodeHttpClient = once(() => import("@effect/platform-node/NodeHttpClient"))

/**
 * Effect's `HttpClient` and `Send` over it, for `Fleet.layerHttpClient`, `make` and `probe`.
 *
 * @since 0.2.0
 * @internal
 */
export const overHttpClient = once(() =>
  Promise.all([import("effect/http/HttpClient"), import("./overHttpClient.ts")]).then(([Http, Over]) => ({
    HttpClient: Http.HttpClient,
    sendWith: Over.sendWith
  }))
)
