/**
 * The middle baseline: Effect's own `HttpClient` over the same undici pool (`NodeHttpClient.layerUndiciOptions`, as
 * `FleetTransport` builds it), doing what the raw undici baseline does and nothing more (no Schema, no fleet code).
 * Its distance from raw undici is the platform's cost, a floor under effect-fleet; the rest is effect-fleet's own.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Effect, ManagedRuntime } from "effect"
import { HttpBody, HttpClient } from "effect/http"
import { poolSize } from "./lib.ts"

export const runtime = () => ManagedRuntime.make(NodeHttpClient.layerUndiciOptions({ connections: poolSize }))

const json = (response: { readonly text: Effect.Effect<string, unknown> }) =>
  Effect.map(response.text, (text) => JSON.parse(text) as unknown)

export const list = (origin: string): Effect.Effect<number, unknown, HttpClient.HttpClient> =>
  HttpClient.HttpClient.use((client) =>
    Effect.gen(function* () {
      let count = 0
      let token: string | undefined
      do {
        const response = yield* client.get(`${origin}/fleet/v1/units`, {
          urlParams: token === undefined ? {} : { nextPageToken: token }
        })
        const page = (yield* json(response)) as { units?: ReadonlyArray<unknown>; nextPageToken?: string }
        count += page.units?.length ?? 0
        token = page.nextPageToken
      } while (token !== undefined)
      return count
    })
  )

export const get = (origin: string, name: string): Effect.Effect<unknown, unknown, HttpClient.HttpClient> =>
  HttpClient.HttpClient.use((client) =>
    Effect.flatMap(client.get(`${origin}/fleet/v1/units/${encodeURIComponent(name)}`), json)
  )

export const create = (
  origin: string,
  name: string,
  body: unknown
): Effect.Effect<unknown, unknown, HttpClient.HttpClient> =>
  HttpClient.HttpClient.use((client) => {
    const url = `${origin}/fleet/v1/units/${encodeURIComponent(name)}`
    return client.put(url, { body: HttpBody.text(JSON.stringify(body), "application/json") }).pipe(
      Effect.flatMap((response) => response.text),
      Effect.andThen(client.get(url)),
      Effect.flatMap(json)
    )
  })
